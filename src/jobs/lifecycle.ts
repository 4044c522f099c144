import { JOB_STAGES, JOB_STATUSES, type JobStatus } from '../../schemas/jobs.js'

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

/** Where a status sits in the lifecycle order (`failed` last). */
export function statusOrder (status: JobStatus): number {
  return JOB_STATUSES.indexOf(status)
}
