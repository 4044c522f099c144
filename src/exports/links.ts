import type { ExportChunk, ExportRecord } from '../store/export-store.js'
import { LINK_TTL_MS, signLink } from './signing.js'

/** Where a file is served: under the Export API's prefix, naming the key's partition, the job and the file. */
export const FILES_PATH = '/api/v1/analytics/exports/files'

/** The presigned link to one written file of an export, valid 2 days after it was written. */
export function presignedUrl (base: string, signingKey: string, job: Pick<ExportRecord, 'tenant' | 'jobId'>, chunk: Pick<ExportChunk, 'filename' | 'writtenAt'>): string {
  const parts = { tenant: job.tenant, jobId: job.jobId, filename: chunk.filename, expires: chunk.writtenAt + LINK_TTL_MS }
  return `${base}${FILES_PATH}/${job.tenant}/${job.jobId}/${chunk.filename}?expires=${parts.expires}&signature=${signLink(signingKey, parts)}`
}
