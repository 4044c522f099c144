import type { MockStore } from '../store/store.js'

/** A job as the lease sweep sees it. */
export interface JobRef { tenant: string, jobId: string }

/**
 * Who carries each job forward when several replicas share one store: a job
 * is advanced only by the replica holding its lease, which expires unless
 * renewed, so another replica takes over a job whose owner died.
 */
export interface JobLeases {
  /** How long a lease lasts unless renewed. */
  readonly leaseMs: number
  /**
   * Takes the job's lease, or renews it when this replica holds it; false when another replica does
   * or the job has ended. `isNew`: the job is about to be created, so it cannot be active yet.
   */
  acquire(job: JobRef, isNew?: boolean): Promise<boolean>
  /** Gives the lease up, if this replica still holds it. */
  release(job: JobRef): Promise<void>
  /** Every job of every tenant that has not ended. */
  activeJobs(): Promise<JobRef[]>
}

/** The leases of a store shared between processes; undefined for a store only this process sees. */
export function leasesOf (store: MockStore): JobLeases | undefined {
  return (store as MockStore & { leases?: JobLeases }).leases
}

/** How often a replica looks for jobs to take over: a few times per lease, so a dead owner's job waits little more than a lease. */
export function sweepInterval (leaseMs: number): number {
  return Math.max(50, Math.floor(leaseMs / 3))
}
