import { JOB_STAGES, JOB_STATUSES, type JobStatus, type JobType } from '../../schemas/jobs.js'

/** Statuses a job moves through on its own, each followed by the next; `failed` can end any of them. */
export const STAGES = JOB_STAGES
export type Stage = typeof STAGES[number]

/** The transition table: where each stage goes when its time is up. */
const NEXT: Readonly<Record<Stage, JobStatus>> = {
  queued: 'validating',
  validating: 'processing',
  processing: 'pending_refresh',
  pending_refresh: 'completed'
}

/** A job in `completed` or `failed` never changes again. */
export function isTerminal (status: JobStatus): status is 'completed' | 'failed' {
  return status === 'completed' || status === 'failed'
}

/** The status that follows a stage. */
export function nextStatus (stage: Stage): JobStatus {
  return NEXT[stage]
}

/** Whether a job fails as it arrives in its status: it was told to fail at that stage (X-Mock-Job-Outcome, the control API), so it applies no rows there. */
export function failsOnArrival (job: { status: JobStatus, failAt?: Stage | null | undefined }): boolean {
  return job.failAt === job.status
}

/** Where a status sits in the lifecycle order (`failed` last). */
export function statusOrder (status: JobStatus): number {
  return JOB_STATUSES.indexOf(status)
}

/**
 * Jobs queue one at a time per key within a lane: users and companies bulk
 * jobs share one, imports have their own (SPEC 1.13: a bulk job does not
 * block an import, nor the reverse).
 */
export const JOB_LANES = ['bulk', 'import'] as const
export type JobLane = typeof JOB_LANES[number]

/** The lane a job of this type queues in. */
export function laneOf (type: JobType): JobLane {
  return type === 'import' ? 'import' : 'bulk'
}
