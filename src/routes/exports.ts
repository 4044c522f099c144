import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { ExportCreated, ExportFileParams, ExportFileQuery, ExportJob, ExportJobList, ExportJobParams, ExportRequest, type ExportJobSummary } from '../../schemas/exports.js'
import { apiError, excerpt } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { baseUrl } from '../http/base-url.js'
import { refuseIfStrict, warningsOf } from '../http/fidelity.js'
import { outcomeStage } from '../http/job-outcome.js'
import { iso } from '../jobs/jobs.js'
import { exportProgress } from '../exports/export-runner.js'
import { contentType } from '../exports/formats.js'
import { presignedUrl } from '../exports/links.js'
import { linkSigned } from '../exports/signing.js'
import { EXPORT_STATUS_TTL_MS, exportEnded, type ExportRecord } from '../store/export-store.js'

/** `X-Mock-Job-Outcome: failed[@pending|@processing]` on an export: fail leaving pending (the default), or after the first file. */
function exportFailAt (header: string | string[] | undefined): ExportRecord['failAt'] {
  return outcomeStage(header, ['pending', 'processing'] as const, 'pending',
    'On an export, X-Mock-Job-Outcome takes "failed", "failed@pending" or "failed@processing".') ?? null
}

/** `H:MM:SS`. */
function clockText (seconds: number): string {
  const pad = (n: number): string => String(n).padStart(2, '0')
  return `${Math.floor(seconds / 3600)}:${pad(Math.floor(seconds / 60) % 60)}:${pad(seconds % 60)}`
}

function statusUrl (base: string, jobId: string): string {
  return `${base}/api/v1/analytics/exports/jobs/${jobId}`
}

/**
 * `POST /api/v1/analytics/exports`, its job status and list (the Export API
 * of the appex host, on the mock's origin). The signed file links are served
 * by {@link exportFiles}.
 */
export const exportsApi: FastifyPluginAsyncTypebox = async (app) => {
  const { config, clock, store, exportRunner } = app.mock

  /** The job if this key may see it: others' and expired ones are not found. */
  async function visibleJob (request: FastifyRequest, jobId: string): Promise<ExportRecord> {
    const job = await store.exports.get(tenantOfRequest(request).id, jobId)
    if (job === undefined || clock.now() >= job.createdAt + EXPORT_STATUS_TTL_MS) {
      throw apiError(404, 'job_not_found', 'No export job with this id exists for this API key (an export\'s status is kept for 3 days).', `job_id ${excerpt(jobId, 120)}`)
    }
    return job
  }

  app.post('/', {
    schema: {
      tags: ['Export API'],
      summary: 'Create an export',
      description: "Exports the key's kept events (real-time calls and imports) that pass the filters, as files of `format`, through a job on the mock's clock. One export runs per key at a time.",
      body: ExportRequest,
      response: { 201: ExportCreated, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request, reply) => {
    const tenant = tenantOfRequest(request)
    const body = request.body ?? {}
    const failAt = exportFailAt(request.headers['x-mock-job-outcome'])
    const from = body.from === undefined ? null : Date.parse(body.from)
    const to = body.to === undefined ? null : Date.parse(body.to)
    if (from !== null && to !== null && from >= to) {
      throw apiError(400, 'invalid_time_range', `"from" (${body.from as string}) must be before "to" (${body.to as string}).`, '/from')
    }
    for (const field of ['emails', 'segment_id', 'exclusions'] as const) {
      if (body[field] !== undefined) {
        warningsOf(request).add({ code: 'ignored_filter', message: `The mock accepts "${field}" but does not apply it: the export holds the events the other filters select.`, path: `/${field}` })
      }
    }
    refuseIfStrict(request, config.MOCK_STRICT === 'true')
    const now = clock.now()
    const lastSeq = await store.events.lastSeq(tenant.id)
    // The export reads the events kept now: from the oldest still kept (none: past the last) to the last.
    const firstSeq = (await store.events.scan(tenant.id, 0, 1))[0]?.seq ?? lastSeq + 1
    const job: ExportRecord = {
      jobId: randomUUID(),
      tenant: tenant.id,
      appToken: tenant.envId,
      format: body.format ?? 'ndjson',
      filters: { from, to, eventTypes: body.event_type ?? null, userIds: body.user_id ?? null, companyIds: body.company_id ?? null },
      status: 'pending',
      createdAt: now,
      endTime: null,
      firstSeq,
      lastSeq,
      cursor: firstSeq - 1,
      chunks: [],
      failAt
    }
    const result = await exportRunner.submit(job)
    if (!result.created) {
      throw apiError(409, 'export_in_progress',
        `Export ${result.activeJobId} is still running for this API key, and one export runs at a time. Poll it until it is completed or failed, then send this request again.`,
        result.activeJobId)
    }
    return await reply.code(201).send({
      job_id: job.jobId,
      environment_app_token: tenant.envId,
      environment_name: 'mock',
      links: statusUrl(baseUrl(request, config.MOCK_PUBLIC_URL), job.jobId),
      start_time: iso(now)
    })
  })

  app.get('/jobs/:job_id', {
    schema: {
      tags: ['Export API'],
      summary: 'Export job status',
      description: "The job's progress, its chunks and a signed link to each written file (valid 2 days). Readable for 3 days after the job started.",
      params: ExportJobParams,
      response: { 200: ExportJob, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request) => {
    const job = await visibleJob(request, request.params.job_id)
    const base = baseUrl(request, config.MOCK_PUBLIC_URL)
    const key = await store.exports.signingKey()
    const completed = job.chunks.map((chunk) => chunk.number)
    const current = exportEnded(job.status) || job.status === 'pending' ? null : completed.length + 1
    return {
      app_token: job.appToken,
      job_id: job.jobId,
      status: job.status,
      type: job.format,
      progress: exportProgress(job),
      start_time: iso(job.createdAt),
      end_time: job.endTime === null ? null : iso(job.endTime),
      current_chunk: current,
      completed_chunks: completed,
      all_chunks: current === null ? completed : [...completed, current],
      presigned_urls: job.chunks.map((chunk) => ({ filename: chunk.filename, url: presignedUrl(base, key, job, chunk) }))
    }
  })

  app.get('/jobs/', {
    schema: {
      tags: ['Export API'],
      summary: 'List export jobs',
      description: "The key's export jobs of the last 3 days, newest first.",
      response: { 200: ExportJobList, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request) => {
    const now = clock.now()
    const jobs = await store.exports.list(tenantOfRequest(request).id)
    return jobs.filter((job) => now < job.createdAt + EXPORT_STATUS_TTL_MS).map((job): ExportJobSummary => {
      const seconds = Math.max(0, Math.floor(((job.endTime ?? now) - job.createdAt) / 1000))
      return {
        job_id: job.jobId,
        status: job.status,
        progress: exportProgress(job),
        start_time: iso(job.createdAt),
        end_time: job.endTime === null ? null : iso(job.endTime),
        elapsed_time: clockText(seconds),
        elapsed_time_seconds: seconds
      }
    })
  })
}

/**
 * `GET /api/v1/analytics/exports/files/…`: the presigned links. Like a
 * cloud storage link they need no API key: the signature is the permission,
 * and it covers the key's partition, the job, the file and the expiry.
 */
export const exportFiles: FastifyPluginAsyncTypebox = async (app) => {
  const { clock, store } = app.mock
  app.get('/files/:tenant/:job_id/:filename', {
    schema: {
      tags: ['Export API'],
      summary: 'Download an export file (presigned link)',
      security: [],
      description: 'The URL comes from `presigned_urls` of the job status; it works for 2 days after the file was written. An expired or altered link is refused with 403.',
      params: ExportFileParams,
      querystring: ExportFileQuery,
      response: { 200: Type.Any({ description: 'The file.' }), '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request, reply) => {
    const { tenant, job_id: jobId, filename } = request.params
    const expires = Number(request.query.expires)
    const signature = request.query.signature ?? ''
    if (!Number.isSafeInteger(expires) || !linkSigned(await store.exports.signingKey(), { tenant, jobId, filename, expires }, signature)) {
      throw apiError(403, 'invalid_signature', 'This download link is not one the mock signed, or it was altered: take the URL from presigned_urls of the export job as it is.', 'signature')
    }
    if (clock.now() >= expires) {
      throw apiError(403, 'link_expired', `This download link expired at ${iso(expires)} (links work for 2 days). Read the export job again for the files, or create a new export.`, 'expires')
    }
    const job = await store.exports.get(tenant, jobId)
    const file = job === undefined ? undefined : await store.exports.readFile(tenant, jobId, filename)
    if (job === undefined || file === undefined) {
      throw apiError(404, 'file_not_found', 'The export or its file is gone (the key was reset, or the job was forgotten).', `file ${excerpt(filename, 120)}`)
    }
    return await reply.type(contentType(job.format)).header('content-disposition', `attachment; filename="${filename}"`).send(file)
  })
}
