import { isTerminal } from '../jobs/lifecycle.js'
import { copyMetadata, emptyMetadata, mergeMetadata } from './metadata.js'
import type { JobStatus } from '../../schemas/jobs.js'
import type { JobRecord, JobRow, MockStore, Page, StoredUser } from './store.js'

interface TenantState {
  users: Map<string, StoredUser>
  /** Insertion order is submission order. */
  jobs: Map<string, JobRecord>
  /** Rows not applied yet, per job; dropped when the job ends. */
  rows: Map<string, readonly JobRow[]>
  /** Terminal job ids in the order they ended, for MOCK_JOB_RETENTION. */
  ended: string[]
}

export interface MemoryStoreOptions {
  /** Terminal jobs kept per tenant; the oldest are forgotten first. */
  jobRetention: number
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

function copyJob (job: JobRecord): JobRecord {
  return { ...job, history: job.history.map((change) => ({ ...change })) }
}

function copyUser (user: StoredUser): StoredUser {
  return { ...user, metadata: copyMetadata(user.metadata) }
}

/** The embedded default backend: plain maps in this process. */
export class MemoryStore implements MockStore {
  readonly #tenants = new Map<string, TenantState>()
  readonly #jobRetention: number

  constructor (options: MemoryStoreOptions) {
    this.#jobRetention = options.jobRetention
  }

  #tenant (tenant: string): TenantState {
    let state = this.#tenants.get(tenant)
    if (state === undefined) {
      state = { users: new Map(), jobs: new Map(), rows: new Map(), ended: [] }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  async createJob (job: JobRecord, rows: readonly JobRow[]): Promise<void> {
    const state = this.#tenant(job.tenant)
    state.jobs.set(job.jobId, copyJob(job))
    state.rows.set(job.jobId, rows)
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
    job.history.push({ status: to, at })
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
    for (let index = job.completedRows; index < end; index++) {
      this.#applyUser(state, rows[index] as JobRow, jobId, at)
    }
    job.completedRows = end
    return copyJob(job)
  }

  #applyUser (state: TenantState, row: JobRow, jobId: string, at: number): void {
    let user = state.users.get(row.user_id)
    if (user === undefined) {
      user = { userId: row.user_id, companyId: null, metadata: emptyMetadata(), createdAt: at, updatedAt: at, lastJobId: jobId }
      state.users.set(row.user_id, user)
    }
    if (row.company_id !== undefined) user.companyId = row.company_id
    if (row.metadata !== undefined) mergeMetadata(user.metadata, row.metadata)
    user.updatedAt = at
    user.lastJobId = jobId
  }

  async getUser (tenant: string, userId: string): Promise<StoredUser | undefined> {
    const user = this.#tenants.get(tenant)?.users.get(userId)
    return user === undefined ? undefined : copyUser(user)
  }

  async listUsers (tenant: string, page: Page): Promise<StoredUser[]> {
    return pageOf(this.#tenants.get(tenant)?.users.values() ?? [], page).map(copyUser)
  }

  async close (): Promise<void> {
    this.#tenants.clear()
  }
}
