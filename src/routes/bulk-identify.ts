import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type, type TSchema } from '@sinclair/typebox'
import { CompaniesBulkBodySchema, CompanyRowSchema, UserRowSchema, UsersBulkBodySchema, type CompanyRow, type MetadataMode, type UserRow } from '../../schemas/bulk.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { JobAccepted, type JobType } from '../../schemas/jobs.js'
import { apiError, excerpt } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { baseUrl } from '../http/base-url.js'
import { multipartUploads, unsupportedContentType } from '../http/body-parser.js'
import { readNdjson, type RowCheck } from '../http/ndjson.js'
import { rowChecker } from '../http/validation.js'
import { inspectBody, refuseIfStrict, warningsOf } from '../http/fidelity.js'
import { checkProfileCaps } from '../http/profile-caps.js'
import { createJobRecord, toJobAccepted } from '../jobs/jobs.js'
import { STAGES, type Stage } from '../jobs/lifecycle.js'
import { outcomeStage } from '../http/job-outcome.js'

/** The two bulk endpoints differ only in these. */
interface BulkKind {
  type: Exclude<JobType, 'import'>
  summary: string
  body: (mode: MetadataMode) => TSchema
  row: (mode: MetadataMode) => TSchema
}

const KINDS: readonly BulkKind[] = [
  { type: 'users', summary: 'Users - Bulk Identify and Update', body: UsersBulkBodySchema, row: UserRowSchema },
  { type: 'companies', summary: 'Companies - Bulk Identify and Update', body: CompaniesBulkBodySchema, row: CompanyRowSchema }
]

/** The rows of a request, where each is (for messages), and what the 202 says of them. */
/** A bulk request's row. */
type JobRow = UserRow | CompanyRow

interface Submission { rows: JobRow[], pathOf: (index: number) => string, fileSize: number, filename: string | undefined }

const UploadSchema = Type.Object({
  file: Type.String({ format: 'binary', description: 'An NDJSON file: one JSON row per line, blank lines skipped.' })
}, { required: ['file'] })

/**
 * `X-Mock-Job-Outcome: failed[@stage]` makes the job fail on reaching that
 * stage (validating when none is named); no header, a normal job.
 */
export function failAtFrom (header: string | string[] | undefined): Stage | undefined {
  return outcomeStage(header, STAGES, 'validating',
    'X-Mock-Job-Outcome takes "failed" or "failed@<stage>" with a stage of queued, validating, processing or pending_refresh.')
}

/** Longest uploaded file name echoed in `filename`. */
const MAX_FILENAME = 255

/**
 * Reads the multipart upload: exactly one file, in the field `file`, streamed
 * line by line. Anything else is refused with a message saying what was expected.
 */
async function readUpload (request: FastifyRequest, collection: string, check: RowCheck, rowSchema: TSchema, maxRecords: number): Promise<Submission> {
  try {
    return await readParts(request, collection, check, rowSchema, maxRecords)
  } catch (error) {
    // Errors with a status are ours or @fastify/multipart's; the rest is busboy failing on a broken body.
    if ((error as { statusCode?: number }).statusCode !== undefined) throw error
    throw apiError(400, 'malformed_multipart', 'The multipart/form-data body could not be read: send one NDJSON file in the form field "file".', excerpt((error as Error).message, 120))
  }
}

async function readParts (request: FastifyRequest, collection: string, check: RowCheck, rowSchema: TSchema, maxRecords: number): Promise<Submission> {
  let submission: Submission | undefined
  for await (const part of request.parts()) {
    if (part.type !== 'file' || part.fieldname !== 'file' || submission !== undefined) {
      throw apiError(400, 'invalid_upload_field',
        `Send exactly one NDJSON file in the form field "file"; got ${part.type === 'file' ? 'a file' : 'a field'} named ${excerpt(part.fieldname, 40)}${submission !== undefined ? ' after the file' : ''}.`,
        `field ${excerpt(part.fieldname, 40)}`)
    }
    // A file cut at the size limit may end mid-line: the limit, not that last line, is the problem.
    const tooLarge = (): boolean => part.file.truncated
    const keepBytes = request.server.mock.config.MOCK_JOURNAL_BODY_BYTES
    const inspect = (row: unknown, line: number): void => { inspectBody(rowSchema, row, warningsOf(request), [], `line ${line}: `) }
    const read = await readNdjson(part.file, { check, maxRecords, collection, keepBytes, inspect }).catch((error: unknown) => {
      throw tooLarge() ? new request.server.multipartErrors.RequestFileTooLargeError() : error
    })
    if (tooLarge()) throw new request.server.multipartErrors.RequestFileTooLargeError()
    // The journal shows the upload as the file's first bytes; its size is the file's.
    request.rawBody = read.head
    request.bodyBytes = read.bytes
    submission = { rows: read.rows as JobRow[], pathOf: (index) => `line ${read.lines[index] as number}: /metadata`, fileSize: read.bytes, filename: part.filename.slice(0, MAX_FILENAME) || undefined }
  }
  if (submission === undefined) {
    throw apiError(400, 'missing_file', 'The multipart body has no file: send the NDJSON rows as a file in the form field "file".', 'field file')
  }
  return submission
}

/** `POST /v1/users/bulk_identify` and `POST /v1/companies/bulk_identify`: validate, record a job with its rows, answer 202. */
export const bulkIdentify: FastifyPluginAsync = async (app) => {
  const { config, clock, runner, store } = app.mock
  const maxRecords = config.MOCK_MAX_RECORDS
  const admission = config.MOCK_CONCURRENCY === 'reject' ? { exclusive: true } : { maxWaiting: config.MOCK_QUEUE_LIMIT }
  await multipartUploads(app, config.MOCK_BODY_LIMIT)

  const strict = config.MOCK_STRICT === 'true'
  for (const kind of KINDS) {
    const collection = kind.type
    const rowSchema = kind.row(config.MOCK_METADATA)
    const check = rowChecker(rowSchema, collection)

    app.post(`/${collection}/bulk_identify`, {
      schema: {
        tags: ['Userpilot'],
        summary: kind.summary,
        description: `Creates or updates up to ${maxRecords} ${collection} as one background job: a JSON body, or an NDJSON file uploaded as multipart/form-data in the field \`file\`. Metadata is merged into stored profiles; \`null\` removes a property.`,
        body: {
          content: {
            'application/json': { schema: kind.body(config.MOCK_METADATA) },
            'multipart/form-data': { schema: UploadSchema }
          }
        },
        response: { 202: JobAccepted, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
      },
      // The record count is checked before the row-by-row validation, so that an
      // oversized request gets one 413 rather than a hundred 400 entries (SPEC 1.2).
      preValidation: async (request) => {
        const rows = (request.body as Record<string, unknown> | null | undefined)?.[collection]
        if (Array.isArray(rows) && rows.length > maxRecords) {
          throw apiError(413, 'too_many_records',
            `A bulk request carries at most ${maxRecords} ${collection}; this one has ${rows.length}. Split them into several requests.`,
            `/${collection} holds ${rows.length} items`)
        }
      }
    }, async (request, reply) => {
      const tenant = tenantOfRequest(request)
      const failAt = failAtFrom(request.headers['x-mock-job-outcome'])
      let submission: Submission
      if (request.isMultipart()) {
        submission = await readUpload(request, collection, check, rowSchema, maxRecords)
        // A JSON body's warnings were weighed before the handler; an upload's rows only now.
        refuseIfStrict(request, strict)
      } else if (request.body === undefined) {
        throw unsupportedContentType(undefined, true)
      } else {
        submission = { rows: (request.body as Record<string, JobRow[]>)[collection] as JobRow[], pathOf: (index) => `/${collection}/${index}/metadata`, fileSize: request.bodyBytes, filename: undefined }
      }
      await checkProfileCaps(store.profiles, tenant.id, kind.type, submission.rows, submission.pathOf)
      const job = createJobRecord({ tenant, type: kind.type, totalRows: submission.rows.length, fileSize: submission.fileSize, filename: submission.filename, failAt, now: clock.now() })
      const result = await runner.submit(job, submission.rows, admission)
      if (!result.created && result.queueFull === true) {
        const running = await store.getJob(tenant.id, result.activeJobId)
        const seconds = Math.max(1, Math.ceil(runner.remainingMs(running, clock.now()) / 1000))
        throw apiError(429, 'queue_full',
          `This API key already has ${config.MOCK_QUEUE_LIMIT} jobs waiting behind job ${result.activeJobId} (MOCK_CONCURRENCY=queue, MOCK_QUEUE_LIMIT=${config.MOCK_QUEUE_LIMIT}). Retry after ${seconds} s, when it has ended.`,
          `retry after ${seconds} s`, { 'retry-after': String(seconds) })
      }
      if (!result.created) {
        throw apiError(409, 'job_in_progress',
          `Job ${result.activeJobId} is still running for this API key, and one bulk job runs at a time (users and companies together). Poll it until it is completed or failed, then send this request again.`,
          result.activeJobId)
      }
      return reply.code(202).send(toJobAccepted(job, baseUrl(request, config.MOCK_PUBLIC_URL)))
    })
  }
}
