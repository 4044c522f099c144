import { failsOnArrival, isTerminal, laneOf, nextStatus, type JobLane } from '../jobs/lifecycle.js'
import { importedCompany, importedUser, type ImportRow } from '../imports/import-row.js'
import type { JobStatus } from '../../schemas/jobs.js'
import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import type { Stage } from '../jobs/lifecycle.js'
import { MemoryEvents } from './memory-events.js'
import { MemoryExports } from './memory-exports.js'
import { MemoryLookups } from './memory-lookups.js'
import { MemoryProfiles } from './memory-profiles.js'
import { MemoryRateWindows } from './memory-rate-windows.js'
import { filterIterable, takePage, type Page } from './page.js'
import { DEFAULT_EVENT_RETENTION, FAULT_LIMIT, journalMatches, type JournalFilter, type CreateJobOptions, type CreateJobResult, type FaultRule, type JobRecord, type JobRow, type JournalRecord, type MockStore, type StatusChange } from './store.js'
import { RingBuffer } from './ring-buffer.js'

interface TenantState {
  /** Insertion order is submission order. */
  jobs: Map<string, JobRecord>
  /** Rows not applied yet, per lane and job, in submission order; dropped when the job ends. */
  rows: Record<JobLane, Map<string, readonly JobRow[]>>
  /** Terminal job ids in the order they ended, for MOCK_JOB_RETENTION. */
  ended: string[]
  faults: FaultRule[]
}

export interface MemoryStoreOptions {
  /** Terminal jobs kept per tenant; the oldest are forgotten first. */
  jobRetention: number
  /** Journal entries kept across tenants (default 1000). */
  journalSize?: number
  /** Faults queued per tenant at most (default 100). */
  faultLimit?: number
  /** Events kept per tenant (default 10,000). */
  eventRetention?: number
}

function copyFault (rule: FaultRule): FaultRule {
  return { ...rule, headers: { ...rule.headers }, body: structuredClone(rule.body) }
}

/** A fault matches when its method (if any) is the request's and its path (if any) equals it, or prefixes it with a trailing `*`. */
function faultMatches (rule: FaultRule, method: string, path: string): boolean {
  if (rule.method !== null && rule.method !== method) return false
  if (rule.path === null) return true
  return rule.path.endsWith('*') ? path.startsWith(rule.path.slice(0, -1)) : path === rule.path
}

/** History entries are frozen when stored, so a copy shares them and copies only the list. */
function copyJob (job: JobRecord): JobRecord {
  return { ...job, history: job.history.slice() }
}

function statusChange (status: JobStatus, at: number): StatusChange {
  return Object.freeze({ status, at })
}

/**
 * The lane's oldest job that has not ended. Only those jobs still hold rows, and the
 * rows map keeps submission order, so this never walks the retained ended jobs.
 */
function firstActive (state: TenantState, lane: JobLane): JobRecord | undefined {
  const oldest = state.rows[lane].keys().next()
  return oldest.done === true ? undefined : state.jobs.get(oldest.value)
}

/** The embedded default backend: plain maps in this process. */
export class MemoryStore implements MockStore {
  readonly profiles = new MemoryProfiles()
  readonly events: MemoryEvents
  readonly rates = new MemoryRateWindows()
  readonly exports = new MemoryExports()
  readonly lookups = new MemoryLookups()
  readonly #tenants = new Map<string, TenantState>()
  readonly #jobRetention: number
  readonly #faultLimit: number
  #journal: RingBuffer<JournalRecord>
  #journalSeq = 0

  constructor (options: MemoryStoreOptions) {
    this.#jobRetention = options.jobRetention
    this.#faultLimit = options.faultLimit ?? FAULT_LIMIT
    this.#journal = new RingBuffer(options.journalSize ?? 1000)
    this.events = new MemoryEvents(options.eventRetention ?? DEFAULT_EVENT_RETENTION)
  }

  #tenant (tenant: string): TenantState {
    let state = this.#tenants.get(tenant)
    if (state === undefined) {
      state = { jobs: new Map(), rows: { bulk: new Map(), import: new Map() }, ended: [], faults: [] }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  async createJob (job: JobRecord, rows: readonly JobRow[], options: CreateJobOptions = {}): Promise<CreateJobResult> {
    const state = this.#tenant(job.tenant)
    const lane = state.rows[laneOf(job.type)]
    // No await between the check and the write: in one process this is atomic.
    const active = firstActive(state, laneOf(job.type))
    if (active !== undefined && options.exclusive === true) return { created: false, activeJobId: active.jobId }
    // Every job that has not ended but the oldest waits; the rows map holds one entry per such job.
    if (active !== undefined && options.maxWaiting !== undefined && lane.size > options.maxWaiting) return { created: false, activeJobId: active.jobId, queueFull: true }
    state.jobs.set(job.jobId, { ...job, history: job.history.map((change) => statusChange(change.status, change.at)) })
    lane.set(job.jobId, rows)
    return { created: true }
  }

  async oldestActiveJob (tenant: string, lane: JobLane = 'bulk'): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state === undefined ? undefined : firstActive(state, lane)
    return job === undefined ? undefined : copyJob(job)
  }

  async getJob (tenant: string, jobId: string): Promise<JobRecord | undefined> {
    const job = this.#tenants.get(tenant)?.jobs.get(jobId)
    return job === undefined ? undefined : copyJob(job)
  }

  async listJobs (tenant: string, page: Page): Promise<JobRecord[]> {
    const jobs = [...(this.#tenants.get(tenant)?.jobs.values() ?? [])].reverse()
    return jobs.slice(page.offset, page.offset + page.limit).map(copyJob)
  }

  async transitionJob (tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state?.jobs.get(jobId)
    if (state === undefined || job === undefined || job.status !== from) return undefined
    this.#move(state, job, to, at)
    return copyJob(job)
  }

  #move (state: TenantState, job: JobRecord, to: JobStatus, at: number): void {
    job.status = to
    job.history.push(statusChange(to, at))
    if (isTerminal(to)) {
      job.endTime = at
      state.rows[laneOf(job.type)].delete(job.jobId)
      state.ended.push(job.jobId)
      while (state.ended.length > this.#jobRetention) state.jobs.delete(state.ended.shift() as string)
    }
  }

  async applyRows (tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state?.jobs.get(jobId)
    const rows = job === undefined ? undefined : state?.rows[laneOf(job.type)].get(jobId)
    if (job === undefined || rows === undefined) return undefined
    this.#apply(job, rows, count, at)
    return copyJob(job)
  }

  /** Applies up to `count` of a job's next rows. */
  #apply (job: JobRecord, rows: readonly JobRow[], count: number, at: number): void {
    const { tenant, jobId } = job
    const end = Math.min(rows.length, job.completedRows + count)
    const touch = { kind: 'job', id: jobId } as const
    for (let index = job.completedRows; index < end; index++) {
      if (job.type === 'users') this.profiles.applyUser(tenant, rows[index] as UserRow, touch, at)
      else if (job.type === 'companies') this.profiles.applyCompany(tenant, rows[index] as CompanyRow, touch, at)
      else this.#applyImportRow(tenant, rows[index] as ImportRow, touch, at)
    }
    job.completedRows = end
  }

  async runJobNow (tenant: string, jobId: string, at: number): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state?.jobs.get(jobId)
    // Ended jobs hold no rows, so this is also how an ended job is told apart.
    if (state === undefined || job === undefined || firstActive(state, laneOf(job.type)) !== job) return undefined
    const rows = state.rows[laneOf(job.type)].get(jobId) as readonly JobRow[]
    while (!isTerminal(job.status)) {
      const stage = job.status as Stage
      if (failsOnArrival(job)) {
        this.#move(state, job, 'failed', at)
        break
      }
      if (stage === 'processing') this.#apply(job, rows, rows.length, at)
      this.#move(state, job, nextStatus(stage), at)
    }
    return copyJob(job)
  }

  /** An import row: an identify merges the profile, and every row is kept as an event of the job. */
  #applyImportRow (tenant: string, row: ImportRow, touch: { kind: 'job', id: string }, at: number): void {
    if (row.eventType === 'identify_user') {
      this.profiles.applyUser(tenant, importedUser(row), touch, at)
    } else if (row.eventType === 'identify_company') {
      this.profiles.applyCompany(tenant, importedCompany(row), touch, at)
    }
    this.events.push({ ...row, tenant, requestId: touch.id })
  }

  async setFailAt (tenant: string, jobId: string, stage: Stage): Promise<JobRecord | undefined> {
    const job = this.#tenants.get(tenant)?.jobs.get(jobId)
    if (job === undefined || isTerminal(job.status)) return undefined
    job.failAt = stage
    return copyJob(job)
  }

  async listTenants (): Promise<string[]> {
    return [...new Set([...this.#tenants.keys(), ...this.profiles.tenants(), ...this.events.tenants(), ...this.exports.tenants(), ...this.lookups.tenants()])]
  }

  async appendRequest (record: Omit<JournalRecord, 'id'>): Promise<void> {
    this.#journal.push({ ...record, id: ++this.#journalSeq })
  }

  async listRequests (tenant: string | null, page: Page, filter: JournalFilter = {}): Promise<JournalRecord[]> {
    const selected = filterIterable(this.#journal.newestFirst(), (entry) => (tenant === null || entry.tenant === tenant) && journalMatches(entry, filter))
    return takePage(selected, page).map((entry) => ({ ...entry, headers: { ...entry.headers }, warnings: entry.warnings.map((warning) => ({ ...warning })) }))
  }

  async addFaults (rules: readonly FaultRule[]): Promise<boolean> {
    const counts = new Map<string, number>()
    for (const rule of rules) counts.set(rule.tenant, (counts.get(rule.tenant) ?? this.#tenants.get(rule.tenant)?.faults.length ?? 0) + 1)
    for (const count of counts.values()) if (count > this.#faultLimit) return false
    for (const rule of rules) this.#tenant(rule.tenant).faults.push(copyFault(rule))
    return true
  }

  async listFaults (tenant: string | null): Promise<FaultRule[]> {
    return this.#scope(tenant).flatMap((state) => state.faults.map(copyFault))
  }

  async clearFaults (tenant: string | null): Promise<void> {
    for (const state of this.#scope(tenant)) state.faults = []
  }

  async takeFault (tenant: string, method: string, path: string): Promise<FaultRule | undefined> {
    const state = this.#tenants.get(tenant)
    const index = state?.faults.findIndex((rule) => faultMatches(rule, method, path)) ?? -1
    if (state === undefined || index < 0) return undefined
    const rule = state.faults[index] as FaultRule
    if (--rule.timesLeft === 0) state.faults.splice(index, 1)
    return copyFault(rule)
  }

  async reset (tenant: string | null): Promise<void> {
    this.profiles.forget(tenant)
    this.events.forget(tenant)
    this.rates.forget(tenant)
    await this.exports.forget(tenant)
    this.lookups.forget(tenant)
    if (tenant === null) {
      this.#tenants.clear()
      this.#journal.clear()
      return
    }
    this.#tenants.delete(tenant)
    this.#journal.remove((entry) => entry.tenant === tenant)
  }

  #scope (tenant: string | null): TenantState[] {
    if (tenant === null) return [...this.#tenants.values()]
    const state = this.#tenants.get(tenant)
    return state === undefined ? [] : [state]
  }

  async close (): Promise<void> {
    await this.reset(null)
  }
}
