import type { JobType } from '../../schemas/jobs.js'
import type { JobRecord } from '../../src/store/store.js'

/** A queued job as the runner would create it, for store tests. */
export function jobRecord (tenant: string, jobId: string, at: number, totalRows: number, type: JobType = 'users', fileSize = 100): JobRecord {
  return {
    jobId,
    tenant,
    type,
    status: 'queued',
    totalRows,
    completedRows: 0,
    fileSize,
    filename: `${jobId}.json`,
    submittedAt: at,
    endTime: null,
    history: [{ status: 'queued', at }]
  }
}
