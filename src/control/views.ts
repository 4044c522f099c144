import type { Fault, FaultInput, JournalEntry, MockCompany, MockDeletion, MockEvent, MockJob, MockUser } from '../../schemas/control.js'
import type { CompanyView, EventRecord, FaultRule, JobRecord, JournalRecord, ScheduledDeletion, StoredCompany, StoredUser } from '../store/store.js'
import { iso } from '../jobs/jobs.js'
import { insertedAtText } from '../exports/exported-event.js'
import { envIdOf } from '../tenant.js'

// The one place where stored records (camelCase, epoch ms) become the control API's wire shapes.

/** What last touched a profile and when it goes, as both profile views show it. */
function trail (profile: StoredUser | StoredCompany): Pick<MockUser, 'last_touched_by' | 'last_job_id' | 'deletion_scheduled_at'> {
  return {
    last_touched_by: { type: profile.lastTouch.kind, id: profile.lastTouch.id },
    last_job_id: profile.lastTouch.kind === 'job' ? profile.lastTouch.id : null,
    deletion_scheduled_at: profile.deletionScheduledAt === null ? null : iso(profile.deletionScheduledAt)
  }
}

export function toMockUser (tenant: string, user: StoredUser): MockUser {
  return {
    key_id: envIdOf(tenant),
    user_id: user.userId,
    company_id: user.companyId,
    metadata: user.metadata as MockUser['metadata'],
    created_at: iso(user.createdAt),
    updated_at: iso(user.updatedAt),
    ...trail(user)
  }
}

export function toMockCompany (tenant: string, company: CompanyView): MockCompany {
  return {
    key_id: envIdOf(tenant),
    company_id: company.companyId,
    metadata: company.metadata as MockCompany['metadata'],
    user_count: company.userCount,
    created_at: iso(company.createdAt),
    updated_at: iso(company.updatedAt),
    ...trail(company)
  }
}

export function toMockJob (job: JobRecord): MockJob {
  return {
    key_id: envIdOf(job.tenant),
    job_id: job.jobId,
    type: job.type,
    status: job.status,
    total_rows: job.totalRows,
    completed_rows: job.completedRows,
    file_size: job.fileSize,
    filename: job.filename,
    submitted_at: iso(job.submittedAt),
    end_time: job.endTime === null ? null : iso(job.endTime),
    fail_at: job.failAt ?? null,
    history: job.history.map((change) => ({ status: change.status, at: iso(change.at) }))
  }
}

export function toJournalEntry (record: JournalRecord): JournalEntry {
  return {
    id: record.id,
    time: iso(record.time),
    key_id: record.tenant === null ? null : envIdOf(record.tenant),
    request_id: record.requestId,
    method: record.method,
    path: record.path,
    status: record.status,
    duration_ms: record.durationMs,
    headers: record.headers,
    body: record.body,
    body_bytes: record.bodyBytes,
    body_truncated: record.bodyTruncated,
    warnings: record.warnings
  }
}

export function toMockEvent (event: EventRecord): MockEvent {
  return {
    key_id: envIdOf(event.tenant),
    event_type: event.eventType,
    event_name: event.eventName,
    user_id: event.userId,
    company_id: event.companyId,
    metadata: event.metadata,
    source: event.source,
    // An imported time keeps its microseconds; the others are whole milliseconds, as before.
    inserted_at: event.micros === undefined ? iso(event.insertedAt) : insertedAtText(event.insertedAt, event.micros),
    request_id: event.requestId,
    ...(event.hostname === undefined ? {} : { hostname: event.hostname }),
    ...(event.pathname === undefined ? {} : { pathname: event.pathname }),
    ...(event.userAgent === undefined ? {} : { user_agent: event.userAgent })
  }
}

export function toMockDeletion (tenant: string, deletion: ScheduledDeletion): MockDeletion {
  return { key_id: envIdOf(tenant), type: deletion.kind, id: deletion.id, deletion_scheduled_at: iso(deletion.dueAt) }
}

export function toFault (rule: FaultRule): Fault {
  return {
    id: rule.id,
    key_id: envIdOf(rule.tenant),
    match: { method: rule.method, path: rule.path },
    times_left: rule.timesLeft,
    status: rule.status,
    delay_ms: rule.delayMs,
    body: rule.body ?? null,
    headers: rule.headers,
    drop_connection: rule.dropConnection
  }
}

/** A rule from the control API's input; the method is matched in upper case. */
export function fromFaultInput (tenant: string, id: string, input: FaultInput): FaultRule {
  return {
    id,
    tenant,
    method: input.match?.method?.toUpperCase() ?? null,
    path: input.match?.path ?? null,
    timesLeft: input.times ?? 1,
    status: input.status ?? null,
    delayMs: input.delay_ms ?? 0,
    body: input.body,
    headers: input.headers ?? {},
    dropConnection: input.drop_connection ?? false
  }
}
