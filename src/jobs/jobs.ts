import { randomUUID } from 'node:crypto'
import type { BackgroundJob, JobAccepted, JobType } from '../../schemas/jobs.js'
import type { JobRecord } from '../store/store.js'
import type { Tenant } from '../tenant.js'
import type { Stage } from './lifecycle.js'

export interface NewJob {
  tenant: Tenant
  type: JobType
  totalRows: number
  fileSize: number
  /** The uploaded file's name; JSON bodies get a generated one. */
  filename?: string | undefined
  /** The stage to fail at (X-Mock-Job-Outcome). */
  failAt?: Stage | undefined
  now: number
}

/**
 * A new job in `queued`, with an id shaped like the docs' example:
 * `bulk:jobs:<env>:<uuid>` (an import's starts `import:jobs:`).
 */
export function createJobRecord (input: NewJob): JobRecord {
  const uuid = randomUUID()
  return {
    jobId: `${input.type === 'import' ? 'import' : 'bulk'}:jobs:${input.tenant.envId}:${uuid}`,
    tenant: input.tenant.id,
    type: input.type,
    status: 'queued',
    totalRows: input.totalRows,
    completedRows: 0,
    fileSize: input.fileSize,
    filename: input.filename ?? `${input.type === 'import' ? 'import' : `bulk_identify_${input.type}`}_${uuid}.json`,
    submittedAt: input.now,
    endTime: null,
    history: [{ status: 'queued', at: input.now }],
    failAt: input.failAt ?? null
  }
}

/** Absolute URL of a job's status endpoint under `baseUrl`. */
export function jobLink (baseUrl: string, jobId: string): string {
  return `${baseUrl}/v1/background_jobs/${jobId}`
}

let lastMs = Number.NaN
let lastIso = ''

/**
 * An epoch time as ISO 8601 text. The last one is remembered: formatting a
 * date is slow next to the rest of a 202, and requests in the same
 * millisecond ask for the same text.
 */
export function iso (ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString()
    lastMs = ms
  }
  return lastIso
}

/** The 202 body of a bulk request. */
export function toJobAccepted (job: JobRecord, baseUrl: string): JobAccepted {
  const submitted = iso(job.submittedAt)
  return {
    job_id: job.jobId,
    status: job.status,
    total_rows: job.totalRows,
    file_size: job.fileSize,
    filename: job.filename,
    type: job.type,
    links: jobLink(baseUrl, job.jobId),
    start_time: submitted,
    submitted_at: submitted,
    end_time: null
  }
}

/** A job as the status endpoints show it; `elapsed_time` is whole seconds up to the end, or to `now`. */
export function toBackgroundJob (job: JobRecord, baseUrl: string, now: number): BackgroundJob {
  return {
    ...toJobAccepted(job, baseUrl),
    end_time: job.endTime === null ? null : iso(job.endTime),
    completed_rows: job.completedRows,
    elapsed_time: Math.max(0, Math.floor(((job.endTime ?? now) - job.submittedAt) / 1000))
  }
}
