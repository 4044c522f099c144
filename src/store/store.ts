import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import type { Warning } from '../../schemas/control.js'
import type { JobStatus, JobType } from '../../schemas/jobs.js'
import type { JobLane, Stage } from '../jobs/lifecycle.js'
import type { ImportRow } from '../imports/import-row.js'
import type { Page } from './page.js'
import type { ProfileStore } from './profile-store.js'
import type { EventStore } from './event-store.js'
import type { RateWindows } from './rate-windows.js'
import type { ExportStore } from './export-store.js'
import type { LookupStore } from './lookup-store.js'

export type { Page } from './page.js'
export type { EventFilter, EventRecord, EventStore } from './event-store.js'
export type { RateWindows } from './rate-windows.js'
export type { CompanyView, DeletionCount, ProfileKind, ProfileStore, ScheduledDeletion, StoredCompany, StoredUser, Touch } from './profile-store.js'

/** One entry of a job's status history. */
/** Read-only: the memory store shares them between the copies it returns. */
export interface StatusChange { readonly status: JobStatus, readonly at: number }

/** A background job as the store keeps it (times in epoch milliseconds). */
export interface JobRecord {
  jobId: string
  /** The tenant (one per API key) that owns the job. */
  tenant: string
  type: JobType
  status: JobStatus
  totalRows: number
  completedRows: number
  fileSize: number
  filename: string
  submittedAt: number
  endTime: number | null
  /** Every status the job has had, oldest first; the last entry is the current status. */
  history: StatusChange[]
  /** The stage at which the job is to fail (X-Mock-Job-Outcome, the control API). */
  failAt?: Stage | null | undefined
}

/** One received API request, as the journal keeps it. */
export interface JournalRecord {
  id: number
  time: number
  /** Null when the request had no accepted key. */
  tenant: string | null
  requestId: string
  method: string
  path: string
  status: number
  durationMs: number
  /** Request headers with the key masked. */
  headers: Record<string, string>
  body: string | null
  bodyBytes: number
  bodyTruncated: boolean
  /** Where the request strayed from the docs (fidelity warnings); empty when it did not. */
  warnings: Warning[]
}

/** Which journal entries a listing keeps. */
export interface JournalFilter {
  /** Only entries with at least one warning. */
  warnings?: boolean
}

/** Whether a journal entry passes a filter. */
export function journalMatches (record: JournalRecord, filter: JournalFilter): boolean {
  return filter.warnings !== true || record.warnings.length > 0
}

/** A queued fault: what it matches, how often more, and what it does. */
export interface FaultRule {
  id: string
  tenant: string
  method: string | null
  /** Exact path, or a prefix when it ends with `*`. */
  path: string | null
  timesLeft: number
  status: number | null
  delayMs: number
  body: unknown
  headers: Record<string, string>
  dropConnection: boolean
}

/** A row waiting in a job to be applied: a user, a company or an import row, as the job's type says. */
export type JobRow = UserRow | CompanyRow | ImportRow

/** What {@link MockStore.createJob} did. */
export type CreateJobResult =
  | { created: true }
  /** `queueFull`: refused because `maxWaiting` jobs already wait, not because one runs. */
  | { created: false, activeJobId: string, queueFull?: true }

/** How a new job may join the tenant's jobs. */
export interface CreateJobOptions {
  /** Refused while another job of the tenant has not ended (MOCK_CONCURRENCY=reject). */
  exclusive?: boolean
  /** Otherwise: refused when this many jobs already wait behind the running one (MOCK_QUEUE_LIMIT). */
  maxWaiting?: number
}

/** Events kept per key when MOCK_EVENT_RETENTION is not set. */
export const DEFAULT_EVENT_RETENTION = 10_000

/** Most faults queued per key, so that a runaway test cannot grow the mock without bound. */
export const FAULT_LIMIT = 100

/**
 * Everything the mock remembers, partitioned by tenant. The contract is written
 * for a networked backend too: every method is asynchronous, results are
 * detached copies (callers never hold references into stored objects), and a
 * job's rows live in the store, so any process can carry a job forward.
 */
export interface MockStore {
  /** Users and companies: read by the control API, written by jobs and real-time calls. */
  readonly profiles: ProfileStore
  /** Events kept from real-time calls. */
  readonly events: EventStore
  /** Admission windows of the documented rate limits. */
  readonly rates: RateWindows
  /** Export jobs and their files. */
  readonly exports: ExportStore
  /** The content lookups a test set. */
  readonly lookups: LookupStore
  /**
   * Records a new job and the rows it will apply; the store takes ownership
   * of `rows`. With `exclusive` (or `maxWaiting`), the check of the tenant's
   * jobs that have not ended (in the job's lane) and the creation are one atomic step: of two
   * requests arriving together, only one is created (or joins the queue).
   */
  createJob(job: JobRecord, rows: readonly JobRow[], options?: CreateJobOptions): Promise<CreateJobResult>
  /** The tenant's oldest job of a lane (default: bulk) that has not ended: the one allowed to run in it. */
  oldestActiveJob(tenant: string, lane?: JobLane): Promise<JobRecord | undefined>
  getJob(tenant: string, jobId: string): Promise<JobRecord | undefined>
  /** The tenant's jobs, newest first. */
  listJobs(tenant: string, page: Page): Promise<JobRecord[]>
  /**
   * Moves a job from `from` to `to` at `at`, only if it is still in `from`
   * (compare-and-set, so two movers never both win). A terminal status sets
   * `endTime` and drops the rows not applied. Undefined when the job is gone or
   * has moved on.
   */
  transitionJob(tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined>
  /**
   * Applies up to `count` of the job's next rows to the store, in order (an
   * import's rows also become events, numbered like any other), and
   * adds them to `completedRows`, as one atomic step. Undefined once the job
   * has ended (its remaining rows are gone).
   */
  applyRows(tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined>
  /**
   * Carries a job through every stage it has left, each lasting no time, all at `at`,
   * as one atomic step: `processing` applies every row before it moves on, and a job
   * told to fail at a stage fails on arriving there. Only the lane's oldest job that
   * has not ended runs; undefined for any other (it waits its turn) and for a job that
   * is gone. Optional: where a backend has none (Redis, whose replicas' leases decide
   * who moves a job), jobs move a stage at a time through the calls above.
   */
  runJobNow?(tenant: string, jobId: string, at: number): Promise<JobRecord | undefined>
  /** Sets the stage at which a job that has not ended will fail. */
  setFailAt(tenant: string, jobId: string, stage: Stage): Promise<JobRecord | undefined>
  /** Every tenant that has any state. */
  listTenants(): Promise<string[]>
  /** Adds a request to the journal (a bounded ring buffer across tenants); the store numbers it. */
  appendRequest(record: Omit<JournalRecord, 'id'>): Promise<void>
  /** Journal entries of a tenant (every tenant when null), newest first. */
  listRequests(tenant: string | null, page: Page, filter?: JournalFilter): Promise<JournalRecord[]>
  /** Queues faults; false (nothing added) when the tenant would hold more than the cap. */
  addFaults(rules: readonly FaultRule[]): Promise<boolean>
  /** Queued faults of a tenant (every tenant when null), in the order they apply. */
  listFaults(tenant: string | null): Promise<FaultRule[]>
  clearFaults(tenant: string | null): Promise<void>
  /** Takes one use of the first fault matching the request; the rule goes when used up. */
  takeFault(tenant: string, method: string, path: string): Promise<FaultRule | undefined>
  /** Forgets a tenant's users, companies, deletions, jobs (bulk, import, export, with the export files), events, lookups, rate windows, journal entries and faults (every tenant's when null). */
  reset(tenant: string | null): Promise<void>
  close(): Promise<void>
}
