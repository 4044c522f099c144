import type { Metadata, UserRow } from '../../schemas/bulk.js'
import type { JobStatus, JobType } from '../../schemas/jobs.js'

/** One entry of a job's status history. */
export interface StatusChange { status: JobStatus, at: number }

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
}

/** A row waiting in a job to be applied. */
export type JobRow = UserRow

/** A user profile as the store keeps it. */
export interface StoredUser {
  userId: string
  companyId: string | null
  metadata: Metadata
  createdAt: number
  updatedAt: number
  lastJobId: string
}

/** Offset pagination. */
export interface Page { limit: number, offset: number }

/**
 * Everything the mock remembers, partitioned by tenant. The contract is written
 * for a networked backend too: every method is asynchronous, results are
 * detached copies (callers never hold references into stored objects), and a
 * job's rows live in the store, so any process can carry a job forward.
 */
export interface MockStore {
  /** Records a new job and the rows it will apply. The store takes ownership of `rows`. */
  createJob(job: JobRecord, rows: readonly JobRow[]): Promise<void>
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
   * Applies up to `count` of the job's next rows to the store, in order, and
   * adds them to `completedRows`, as one atomic step. Undefined once the job
   * has ended (its remaining rows are gone).
   */
  applyRows(tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined>
  getUser(tenant: string, userId: string): Promise<StoredUser | undefined>
  /** The tenant's users in the order they were first identified. */
  listUsers(tenant: string, page: Page): Promise<StoredUser[]>
  close(): Promise<void>
}
