import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { ExportAdvanceBody, MockExport } from '../../../schemas/exports.js'
import { PageQuery, ScopeQuery } from '../../../schemas/control.js'
import { apiError } from '../../errors.js'
import { pageOf } from '../../http/page.js'
import { baseUrl } from '../../http/base-url.js'
import { presignedUrl } from '../../exports/links.js'
import { iso } from '../../jobs/jobs.js'
import { envIdOf } from '../../tenant.js'
import { exportProgress, type ExportControlResult } from '../../exports/export-runner.js'
import type { ExportRecord } from '../../store/export-store.js'
import { CONTROL_TAG, controlErrors, findInScope, Headers, notFound, pageAcross } from './common.js'

const ExportParams = Type.Object({ job_id: Type.String({ minLength: 1, maxLength: 200 }) })

/** An export job as the control API shows it, each file with its presigned link under `base`. */
export function toMockExport (job: ExportRecord, base: string, signingKey: string): MockExport {
  const time = (ms: number | null): string | null => ms === null ? null : iso(ms)
  return {
    key_id: envIdOf(job.tenant),
    job_id: job.jobId,
    status: job.status,
    format: job.format,
    progress: exportProgress(job),
    created_at: iso(job.createdAt),
    end_time: time(job.endTime),
    filters: { from: time(job.filters.from), to: time(job.filters.to), event_type: job.filters.eventTypes, user_id: job.filters.userIds, company_id: job.filters.companyIds },
    chunks: job.chunks.map((chunk) => ({ number: chunk.number, filename: chunk.filename, events: chunk.events, bytes: chunk.bytes, written_at: iso(chunk.writtenAt), url: presignedUrl(base, signingKey, job, chunk) })),
    fail_at: job.failAt
  }
}

function answer (result: ExportControlResult, jobId: string, view: (job: ExportRecord) => MockExport): MockExport {
  if (result.ok) return view(result.job)
  throw result.reason === 'not_found'
    ? notFound('export', 'job_not_found', jobId)
    : apiError(409, 'job_finished', `Export ${jobId} has already ${result.job.status}; it cannot move any more.`, result.job.status)
}

/** Export jobs with their files, and the calls that move them (flush is shared with jobs). */
export const controlExports: FastifyPluginAsyncTypebox = async (app) => {
  const { config, store, exportRunner } = app.mock

  /** The view of jobs for this request: links under the base the client used. */
  async function viewer (request: FastifyRequest): Promise<(job: ExportRecord) => MockExport> {
    const base = baseUrl(request, config.MOCK_PUBLIC_URL)
    const key = await store.exports.signingKey()
    return (job) => toMockExport(job, base, key)
  }

  async function ownerOf (request: Parameters<typeof findInScope>[0], jobId: string): Promise<string> {
    const hit = await findInScope(request, store, async (tenant) => await store.exports.get(tenant, jobId))
    if (hit === undefined) throw notFound('export', 'job_not_found', jobId)
    return hit.tenant
  }

  app.get('/exports', {
    schema: { tags: [CONTROL_TAG], summary: 'Export jobs with their files', description: 'Newest first, with filters, chunks and the stage they are told to fail at.', headers: Headers, querystring: PageQuery, response: { 200: Type.Array(MockExport), ...controlErrors } }
  }, async (request) => {
    const page = pageOf(request.query)
    const jobs = await pageAcross(request, store, page, async (tenant, window) => (await store.exports.list(tenant)).slice(window.offset, window.offset + window.limit), (a, b) => b.createdAt - a.createdAt)
    return jobs.map(await viewer(request))
  })

  app.post('/exports/:job_id/advance', {
    schema: { tags: [CONTROL_TAG], summary: 'Move an export on', description: 'One step (pending → processing, or one more file), or `{ "to": status }` to run it until then.', headers: Headers, params: ExportParams, querystring: ScopeQuery, body: ExportAdvanceBody, response: { 200: MockExport, ...controlErrors } }
  }, async (request) => {
    const { job_id: jobId } = request.params
    return answer(await exportRunner.advance(await ownerOf(request, jobId), jobId, request.body?.to), jobId, await viewer(request))
  })

  app.post('/exports/:job_id/fail', {
    schema: { tags: [CONTROL_TAG], summary: 'Fail an export now', description: 'The files written so far stay downloadable.', headers: Headers, params: ExportParams, querystring: ScopeQuery, response: { 200: MockExport, ...controlErrors } }
  }, async (request) => {
    const { job_id: jobId } = request.params
    return answer(await exportRunner.fail(await ownerOf(request, jobId), jobId), jobId, await viewer(request))
  })
}
