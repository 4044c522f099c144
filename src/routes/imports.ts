import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { IMPORT_FIELDS, ImportUploadSchema } from '../../schemas/imports.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { apiError, excerpt } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { baseUrl } from '../http/base-url.js'
import { multipartUploads } from '../http/body-parser.js'
import { refuseIfStrict, warningsOf } from '../http/fidelity.js'
import { checkProfileCaps } from '../http/profile-caps.js'
import { RowCollector } from '../imports/collector.js'
import { importedCompany, importedUser } from '../imports/import-row.js'
import { readImport, type ImportFile } from '../imports/read-import.js'
import { importRowValidator, type RowValidator } from '../imports/validate-row.js'
import { createJobRecord, toJobAccepted } from '../jobs/jobs.js'
import { failAtFrom } from './bulk-identify.js'

/** Longest uploaded file name echoed in `filename`, as bulk uploads. */
const MAX_FILENAME = 255

const EXPECTED = 'one CSV or NDJSON file in the form field "file"'

/** The 415 of an import sent as anything but multipart/form-data. */
function notMultipart (contentType: string | undefined): Error {
  return apiError(415, 'unsupported_content_type',
    `Send ${EXPECTED}, as Content-Type: multipart/form-data.`,
    `content-type ${excerpt(contentType ?? '(none)')}`)
}

/** Multipart limits of @fastify/multipart, in this route's words. */
const PART_LIMITS = new Set(['FST_FILES_LIMIT', 'FST_PARTS_LIMIT'])

/** The uploaded file's rows, and its name (cut to 255 characters) when it has one. */
interface Upload { file: ImportFile, filename: string | undefined }

/**
 * Reads the multipart upload: exactly one file, in the field `file`, streamed
 * row by row. Anything else is refused with a message saying what was expected.
 */
async function readUpload (request: FastifyRequest, validate: RowValidator, maxRows: number): Promise<Upload> {
  try {
    return await readParts(request, validate, maxRows)
  } catch (error) {
    const { statusCode, code } = error as { statusCode?: number, code?: string }
    if (PART_LIMITS.has(code as string)) throw apiError(400, 'invalid_upload_field', `Send exactly ${EXPECTED}, and nothing else.`, 'multipart body')
    // Errors with a status are ours or @fastify/multipart's; the rest is busboy failing on a broken body.
    if (statusCode !== undefined) throw error
    throw apiError(400, 'malformed_multipart', `The multipart/form-data body could not be read: send ${EXPECTED}.`, excerpt((error as Error).message, 120))
  }
}

async function readParts (request: FastifyRequest, validate: RowValidator, maxRows: number): Promise<Upload> {
  let upload: Upload | undefined
  for await (const part of request.parts()) {
    if (part.type !== 'file' || part.fieldname !== 'file' || upload !== undefined) {
      throw apiError(400, 'invalid_upload_field',
        `Send exactly ${EXPECTED}; got ${part.type === 'file' ? 'a file' : 'a field'} named ${excerpt(part.fieldname, 40)}${upload !== undefined ? ' after the file' : ''}.`,
        `field ${excerpt(part.fieldname, 40)}`)
    }
    // A file cut at the size limit may end mid-row: the limit, not that last row, is the problem.
    const tooLarge = (): boolean => part.file.truncated
    const sent = { filename: part.filename, contentType: part.mimetype, keepBytes: request.server.mock.config.MOCK_JOURNAL_BODY_BYTES }
    const file = await readImport(part.file, sent, new RowCollector(validate, maxRows)).catch((error: unknown) => {
      throw tooLarge() ? new request.server.multipartErrors.RequestFileTooLargeError() : error
    })
    if (tooLarge()) throw new request.server.multipartErrors.RequestFileTooLargeError()
    // The journal shows the upload as the file's first bytes; its size is the file's.
    request.rawBody = file.head
    request.bodyBytes = file.bytes
    upload = { file, filename: part.filename.slice(0, MAX_FILENAME) || undefined }
  }
  if (upload === undefined) {
    throw apiError(400, 'missing_file', `The multipart body has no file: send ${EXPECTED}.`, 'field file')
  }
  return upload
}

/**
 * `POST /v1/imports` (SPEC 1.13): streams the uploaded CSV or NDJSON file,
 * checks every row, records an import job with the rows and answers 200 with
 * it; 409 while the key's import job runs (bulk jobs neither block it nor
 * are blocked by it).
 */
export const imports: FastifyPluginAsync = async (app) => {
  const { config, clock, runner, store } = app.mock
  const strict = config.MOCK_STRICT === 'true'
  const maxRows = config.MOCK_IMPORT_MAX_ROWS

  // Only multipart bodies are read here: every other content type gets this route's 415 before its body is read.
  app.removeAllContentTypeParsers()
  await multipartUploads(app, config.MOCK_BODY_LIMIT)
  app.addContentTypeParser('*', (request, _payload, done) => { done(notMultipart(request.headers['content-type']), undefined) })

  app.post('/imports', {
    schema: {
      tags: ['Userpilot'],
      summary: 'Historical import',
      description: `Imports past events from one CSV or NDJSON file (multipart/form-data, field \`file\`, at most ${config.MOCK_BODY_LIMIT} bytes and ${maxRows} rows) as a background job of type \`import\`. ` +
        'Rows are `identify_user`, `identify_company`, `page_view` or `track`; identify rows merge into the store in file order and every row is kept as an event with its own `source` and `inserted_at`. ' +
        'One import job per API key at a time (409 `import_in_progress`); bulk jobs run beside it.',
      body: { content: { 'multipart/form-data': { schema: ImportUploadSchema } } },
      response: { 200: JobAccepted, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request, reply) => {
    const tenant = tenantOfRequest(request)
    const failAt = failAtFrom(request.headers['x-mock-job-outcome'])
    if (!request.isMultipart()) throw notMultipart(request.headers['content-type'])
    const validate = importRowValidator({
      mode: config.MOCK_METADATA,
      onUnknown: (name, line) => { warningsOf(request).unknownField(name, [], IMPORT_FIELDS, `line ${line}: `) }
    })
    const { file, filename } = await readUpload(request, validate, maxRows)
    refuseIfStrict(request, strict)
    await capProfiles(tenant.id, file)
    const job = createJobRecord({ tenant, type: 'import', totalRows: file.rows.length, fileSize: file.bytes, filename, failAt, now: clock.now() })
    const result = await runner.submit(job, file.rows, { exclusive: true })
    if (!result.created) {
      throw apiError(409, 'import_in_progress',
        `Import job ${result.activeJobId} is still running for this API key, and one import runs at a time (bulk jobs do not count). Poll it until it is completed or failed, then send this file again.`,
        result.activeJobId)
    }
    return reply.code(200).send(toJobAccepted(job, baseUrl(request, config.MOCK_PUBLIC_URL)))
  })

  /** Identify rows may not grow a profile past the property cap, as in bulk (400 naming the row's line). */
  async function capProfiles (tenant: string, file: ImportFile): Promise<void> {
    const users: UserRow[] = []
    const userLines: number[] = []
    const companies: CompanyRow[] = []
    const companyLines: number[] = []
    for (const [index, row] of file.rows.entries()) {
      if (row.eventType === 'identify_user') {
        users.push(importedUser(row))
        userLines.push(file.lines[index] as number)
      } else if (row.eventType === 'identify_company') {
        companies.push(importedCompany(row))
        companyLines.push(file.lines[index] as number)
      }
    }
    await checkProfileCaps(store.profiles, tenant, 'users', users, (index) => `line ${userLines[index] as number}: /metadata`)
    await checkProfileCaps(store.profiles, tenant, 'companies', companies, (index) => `line ${companyLines[index] as number}: /metadata`)
  }
}
