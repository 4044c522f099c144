import { isTerminal } from '../jobs/lifecycle.js'
import { copyMetadata, emptyMetadata, mergeMetadata } from './metadata.js'
import type { JobStatus } from '../../schemas/jobs.js'
import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import type { Stage } from '../jobs/lifecycle.js'
import { FAULT_LIMIT, type CompanyView, type CreateJobResult, type FaultRule, type JobRecord, type JobRow, type JournalRecord, type MockStore, type Page, type StatusChange, type StoredCompany, type StoredUser } from './store.js'
import { RingBuffer } from './ring-buffer.js'

interface TenantState {
  users: Map<string, StoredUser>
  companies: Map<string, StoredCompany>
  /**
   * Users per company id: an index derived from `users`, changed only where a
   * user's company changes, so a company's count is never stored twice.
   */
  members: Map<string, number>
  /** Insertion order is submission order. */
  jobs: Map<string, JobRecord>
  /** Rows not applied yet, per job; dropped when the job ends. */
  rows: Map<string, readonly JobRow[]>
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
}

/** One page of an iteration, without copying what comes before or after it. */
function pageOf<T> (items: Iterable<T>, page: Page): T[] {
  const result: T[] = []
  let index = 0
  for (const item of items) {
    if (index++ < page.offset) continue
    if (result.length === page.limit) break
    result.push(item)
  }
  return result
}

function * filterIterable<T> (items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item
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

function copyUser (user: StoredUser): StoredUser {
  return { ...user, metadata: copyMetadata(user.metadata) }
}

function viewCompany (state: TenantState, company: StoredCompany): CompanyView {
  return { ...company, metadata: copyMetadata(company.metadata), userCount: state.members.get(company.companyId) ?? 0 }
}

/**
 * The oldest job that has not ended. Only those jobs still hold rows, and the
 * rows map keeps submission order, so this never walks the retained ended jobs.
 */
function firstActive (state: TenantState): JobRecord | undefined {
  const oldest = state.rows.keys().next()
  return oldest.done === true ? undefined : state.jobs.get(oldest.value)
}

function countMember (state: TenantState, companyId: string | null, delta: number): void {
  if (companyId === null) return
  const count = (state.members.get(companyId) ?? 0) + delta
  if (count === 0) state.members.delete(companyId)
  else state.members.set(companyId, count)
}

/** Identifies one user: created on first sight, metadata merged, a new company_id moves it. */
function applyUser (state: TenantState, row: UserRow, jobId: string, at: number): void {
  let user = state.users.get(row.user_id)
  if (user === undefined) {
    user = { userId: row.user_id, companyId: null, metadata: emptyMetadata(), createdAt: at, updatedAt: at, lastJobId: jobId }
    state.users.set(row.user_id, user)
  }
  if (row.company_id !== undefined && row.company_id !== user.companyId) {
    countMember(state, user.companyId, -1)
    countMember(state, row.company_id, 1)
    user.companyId = row.company_id
  }
  if (row.metadata !== undefined) mergeMetadata(user.metadata, row.metadata)
  user.updatedAt = at
  user.lastJobId = jobId
}

/** Identifies one company: created on first sight, metadata merged. */
function applyCompany (state: TenantState, row: CompanyRow, jobId: string, at: number): void {
  let company = state.companies.get(row.company_id)
  if (company === undefined) {
    company = { companyId: row.company_id, metadata: emptyMetadata(), createdAt: at, updatedAt: at, lastJobId: jobId }
    state.companies.set(row.company_id, company)
  }
  if (row.metadata !== undefined) mergeMetadata(company.metadata, row.metadata)
  company.updatedAt = at
  company.lastJobId = jobId
}

/** The embedded default backend: plain maps in this process. */
export class MemoryStore implements MockStore {
  readonly #tenants = new Map<string, TenantState>()
  readonly #jobRetention: number
  readonly #faultLimit: number
  #journal: RingBuffer<JournalRecord>
  #journalSeq = 0

  constructor (options: MemoryStoreOptions) {
    this.#jobRetention = options.jobRetention
    this.#faultLimit = options.faultLimit ?? FAULT_LIMIT
    this.#journal = new RingBuffer(options.journalSize ?? 1000)
  }

  #tenant (tenant: string): TenantState {
    let state = this.#tenants.get(tenant)
    if (state === undefined) {
      state = { users: new Map(), companies: new Map(), members: new Map(), jobs: new Map(), rows: new Map(), ended: [], faults: [] }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  async createJob (job: JobRecord, rows: readonly JobRow[], options: { exclusive?: boolean } = {}): Promise<CreateJobResult> {
    const state = this.#tenant(job.tenant)
    // No await between the check and the write: in one process this is atomic.
    const active = options.exclusive === true ? firstActive(state) : undefined
    if (active !== undefined) return { created: false, activeJobId: active.jobId }
    state.jobs.set(job.jobId, { ...job, history: job.history.map((change) => statusChange(change.status, change.at)) })
    state.rows.set(job.jobId, rows)
    return { created: true }
  }

  async oldestActiveJob (tenant: string): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state === undefined ? undefined : firstActive(state)
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
    job.status = to
    job.history.push(statusChange(to, at))
    if (isTerminal(to)) {
      job.endTime = at
      state.rows.delete(jobId)
      state.ended.push(jobId)
      while (state.ended.length > this.#jobRetention) state.jobs.delete(state.ended.shift() as string)
    }
    return copyJob(job)
  }

  async applyRows (tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined> {
    const state = this.#tenants.get(tenant)
    const job = state?.jobs.get(jobId)
    const rows = state?.rows.get(jobId)
    if (state === undefined || job === undefined || rows === undefined) return undefined
    const end = Math.min(rows.length, job.completedRows + count)
    const apply = job.type === 'users' ? applyUser : applyCompany
    for (let index = job.completedRows; index < end; index++) {
      apply(state, rows[index] as never, jobId, at)
    }
    job.completedRows = end
    return copyJob(job)
  }

  async setFailAt (tenant: string, jobId: string, stage: Stage): Promise<JobRecord | undefined> {
    const job = this.#tenants.get(tenant)?.jobs.get(jobId)
    if (job === undefined || isTerminal(job.status)) return undefined
    job.failAt = stage
    return copyJob(job)
  }

  async getUser (tenant: string, userId: string): Promise<StoredUser | undefined> {
    const user = this.#tenants.get(tenant)?.users.get(userId)
    return user === undefined ? undefined : copyUser(user)
  }

  async listUsers (tenant: string, page: Page, filter: { companyId?: string | undefined } = {}): Promise<StoredUser[]> {
    const users = this.#tenants.get(tenant)?.users.values() ?? []
    const { companyId } = filter
    const selected = companyId === undefined ? users : filterIterable(users, (user) => user.companyId === companyId)
    return pageOf(selected, page).map(copyUser)
  }

  async getCompany (tenant: string, companyId: string): Promise<CompanyView | undefined> {
    const state = this.#tenants.get(tenant)
    const company = state?.companies.get(companyId)
    return state === undefined || company === undefined ? undefined : viewCompany(state, company)
  }

  async listCompanies (tenant: string, page: Page): Promise<CompanyView[]> {
    const state = this.#tenants.get(tenant)
    return state === undefined ? [] : pageOf(state.companies.values(), page).map((company) => viewCompany(state, company))
  }

  async listTenants (): Promise<string[]> {
    return [...this.#tenants.keys()]
  }

  async appendRequest (record: Omit<JournalRecord, 'id'>): Promise<void> {
    this.#journal.push({ ...record, id: ++this.#journalSeq })
  }

  async listRequests (tenant: string | null, page: Page): Promise<JournalRecord[]> {
    const entries = this.#journal.newestFirst()
    const selected = tenant === null ? entries : filterIterable(entries, (entry) => entry.tenant === tenant)
    return pageOf(selected, page).map((entry) => ({ ...entry, headers: { ...entry.headers } }))
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
    this.#tenants.clear()
    this.#journal.clear()
  }
}
