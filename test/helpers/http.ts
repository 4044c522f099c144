import { connect, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import type { Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Value } from '@sinclair/typebox/value'
import { ErrorEnvelope, type ErrorEntry } from '../../schemas/errors.js'
import { BackgroundJob, BackgroundJobList, JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, assertSchema, auth } from './app.js'

/** The headers every answer carries (SPEC: same as the real service). */
export const JSON_UTF8 = 'application/json; charset=utf-8'
export const CACHE_CONTROL = 'max-age=0, private, must-revalidate'
/** A request id the mock made: 15 random bytes in base64url, 20 characters. */
export const GENERATED_ID = /^[A-Za-z0-9_-]{20}$/
/** Where the manual clock of `testApp` starts. */
export const CLOCK_START = Date.parse('2025-05-19T07:29:12.000Z')

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

/** Asserts content-type, cache-control and x-request-id (echoed `requestId`, or a generated one). */
export function assertStandardHeaders (t: Test, res: LightMyRequestResponse, requestId?: string): void {
  t.equal(res.headers['content-type'], JSON_UTF8, 'content-type')
  t.equal(res.headers['cache-control'], CACHE_CONTROL, 'cache-control')
  if (requestId === undefined) t.match(res.headers['x-request-id'], GENERATED_ID, 'a generated x-request-id')
  else t.equal(res.headers['x-request-id'], requestId, 'the x-request-id sent is echoed')
}

/** A 400 entry (`error: invalid_request`). */
export function invalid (errorCode: string, message: string, details: string): ErrorEntry {
  return { error: 'invalid_request', error_code: errorCode, message, details }
}

/**
 * Asserts an error answer: status, headers, the envelope schema and the whole body.
 * With `todo` (a known bug), the same assertions run but are reported as TODO.
 */
export function expectErrors (t: Test, res: LightMyRequestResponse, status: number, errors: ErrorEntry[], todo?: string): void {
  if (todo === undefined) {
    t.equal(res.statusCode, status, `status ${status}`)
    assertStandardHeaders(t, res)
    const body: unknown = res.json()
    assertSchema(t, ErrorEnvelope, body, 'an ErrorEnvelope')
    t.same(body, { errors }, 'the whole error body')
    return
  }
  const opts = { todo }
  t.equal(res.statusCode, status, `status ${status}`, opts)
  t.equal(res.headers['content-type'], JSON_UTF8, 'content-type', opts)
  t.equal(res.headers['cache-control'], CACHE_CONTROL, 'cache-control', opts)
  t.match(res.headers['x-request-id'], GENERATED_ID, 'a generated x-request-id', opts)
  let body: unknown
  try {
    body = res.json()
  } catch {
    body = res.body
  }
  t.same([...Value.Errors(ErrorEnvelope, body)].map((error) => `${error.path}: ${error.message}`), [], 'an ErrorEnvelope', opts)
  t.same(body, { errors }, 'the whole error body', opts)
}

export interface ExpectedAccepted {
  totalRows: number
  fileSize: number
  /** Submission time in ms; default: where the manual clock starts. */
  at?: number
  /** The API key used; default KEY. */
  key?: string
  /** Base of `links`; default what inject's Host header gives. */
  base?: string
  /** The x-request-id expected back; default: a generated one. */
  requestId?: string
}

/** Asserts a 202 of the users endpoint: status, headers, the JobAccepted schema and every field; returns the body. */
export function expectAccepted (t: Test, res: LightMyRequestResponse, expected: ExpectedAccepted): JobAccepted {
  return expectAcceptedJob(t, res, { type: 'users', ...expected })
}

/** The status view of an accepted job at some point of its life. */
export function jobView (accepted: JobAccepted, state: { status: BackgroundJob['status'], completed_rows: number, elapsed_time: number, end_time?: string | null }): BackgroundJob {
  return { ...accepted, end_time: null, ...state }
}

/** Asserts a 200 job status answer against the schema and the whole expected body. */
export function expectJob (t: Test, res: LightMyRequestResponse, expected: BackgroundJob): BackgroundJob {
  t.equal(res.statusCode, 200, 'status 200')
  assertStandardHeaders(t, res)
  const body = res.json() as BackgroundJob
  assertSchema(t, BackgroundJob, body, 'a BackgroundJob')
  t.same(body, expected, `the whole job body (${expected.status})`)
  return body
}

/** GET /v1/background_jobs with a query string. */
export function listJobs (app: FastifyInstance, query = '', headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/v1/background_jobs${query}`, headers })
}

/** Asserts a 200 job list answer against the schema and the whole expected list. */
export function expectJobList (t: Test, res: LightMyRequestResponse, expected: BackgroundJob[]): void {
  t.equal(res.statusCode, 200, 'status 200')
  assertStandardHeaders(t, res)
  const body: unknown = res.json()
  assertSchema(t, BackgroundJobList, body, 'a BackgroundJobList')
  t.same(body, expected, 'the whole list')
}

/** Log lines collected from pino, parsed. */
export interface LogSink {
  lines: Array<Record<string, unknown>>
  /** Every line as received, to search for strings that must never be logged. */
  raw: string[]
  stream: { write: (line: string) => void }
}

export function logSink (): LogSink {
  const lines: Array<Record<string, unknown>> = []
  const raw: string[] = []
  return {
    lines,
    raw,
    stream: {
      write (line: string) {
        raw.push(line)
        lines.push(JSON.parse(line) as Record<string, unknown>)
      }
    }
  }
}

export interface RawResponse {
  statusCode: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends `request` as bytes over a real socket (for what inject cannot send,
 * e.g. an HTTP/1.0 request without a Host header) and reads the answer up to
 * the connection's end.
 */
export async function rawRequest (app: FastifyInstance, request: string): Promise<RawResponse> {
  if (app.server.listening === false) await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const socket = connect(port, '127.0.0.1')
  await once(socket, 'connect')
  socket.end(request)
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await once(socket, 'end')
  const text = Buffer.concat(chunks).toString('utf8')
  const [head = '', body = ''] = text.split('\r\n\r\n')
  const [status = '', ...fields] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const field of fields) {
    const colon = field.indexOf(':')
    headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim()
  }
  return { statusCode: Number(status.split(' ')[1]), headers, body }
}

/** A bulk endpoint's collection: `/v1/<collection>/bulk_identify`. */
export type Collection = 'users' | 'companies'

/** POST /v1/companies/bulk_identify with a JSON body. */
export function bulkCompanies (app: FastifyInstance, body: unknown, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/companies/bulk_identify',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

export interface ExpectedJobAccepted extends ExpectedAccepted {
  type: Collection
  /** The uploaded file's name; default: the generated `bulk_identify_<type>_<uuid>.json`. */
  filename?: string
}

/** {@link expectAccepted} for either endpoint, JSON or upload: asserts a 202 and every field; returns the body. */
export function expectAcceptedJob (t: Test, res: LightMyRequestResponse, expected: ExpectedJobAccepted): JobAccepted {
  t.equal(res.statusCode, 202, 'status 202')
  assertStandardHeaders(t, res, expected.requestId)
  const body = res.json() as JobAccepted
  assertSchema(t, JobAccepted, body, 'a JobAccepted')
  const envId = tenantOf(expected.key ?? KEY).envId
  const match = new RegExp(`^bulk:jobs:${envId}:(${UUID})$`).exec(body.job_id)
  t.ok(match, `job_id is bulk:jobs:${envId}:<uuid>`)
  const uuid = match?.[1] ?? 'no-uuid'
  const iso = new Date(expected.at ?? CLOCK_START).toISOString()
  t.same(body, {
    job_id: `bulk:jobs:${envId}:${uuid}`,
    status: 'queued',
    total_rows: expected.totalRows,
    file_size: expected.fileSize,
    filename: expected.filename ?? `bulk_identify_${expected.type}_${uuid}.json`,
    type: expected.type,
    links: `${expected.base ?? 'http://localhost:80'}/v1/background_jobs/bulk:jobs:${envId}:${uuid}`,
    start_time: iso,
    submitted_at: iso,
    end_time: null
  }, 'the whole 202 body')
  return body
}

/** The boundary {@link multipartBody} uses unless told otherwise. */
export const BOUNDARY = '----userpilot-mock-test-7d1f0c'

/** One part of a multipart/form-data body: a file when it has a filename, else a text field. */
export interface FormPart {
  name: string
  filename?: string
  content: string | Buffer
  contentType?: string
}

/** A multipart/form-data body built by hand: each part between delimiters, CRLF line breaks, the closing delimiter. */
export function multipartBody (parts: readonly FormPart[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = []
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`
    if (part.filename !== undefined) head += `; filename="${part.filename}"`
    head += '\r\n'
    const contentType = part.contentType ?? (part.filename !== undefined ? 'application/x-ndjson' : undefined)
    if (contentType !== undefined) head += `Content-Type: ${contentType}\r\n`
    chunks.push(Buffer.from(head + '\r\n'), Buffer.from(part.content), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return Buffer.concat(chunks)
}

/** POST a multipart body (any bytes) to a bulk endpoint, with `multipart/form-data; boundary=…` unless told otherwise. */
export function postMultipart (app: FastifyInstance, collection: Collection, payload: Buffer | string, contentType = `multipart/form-data; boundary=${BOUNDARY}`, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: `/v1/${collection}/bulk_identify`, headers: { ...headers, 'content-type': contentType }, payload })
}

/** Uploads `content` as the NDJSON file of the form field `file`. */
export function uploadNdjson (app: FastifyInstance, collection: Collection, content: string | Buffer, filename = `${collection}.ndjson`, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return postMultipart(app, collection, multipartBody([{ name: 'file', filename, content }]), undefined, headers)
}

/** The 409 entry for a key whose job `jobId` has not ended. */
export function jobInProgress (jobId: string): ErrorEntry {
  return {
    error: 'conflict',
    error_code: 'job_in_progress',
    message: `Job ${jobId} is still running for this API key, and one bulk job runs at a time (users and companies together). Poll it until it is completed or failed, then send this request again.`,
    details: jobId
  }
}

// --- Control API (/__mock) helpers ---

import type { TSchema } from '@sinclair/typebox'
import type { MockJob } from '../../schemas/control.js'
import type { JobStatus } from '../../schemas/jobs.js'
import type { Stage } from '../../src/jobs/lifecycle.js'
import { bulkUsers } from './app.js'

/** Options of a control call: the key (`null`: no Authorization header), a JSON payload, more headers. */
export interface ControlCall {
  key?: string | null
  payload?: unknown
  headers?: Record<string, string>
}

/** A call to the control API: `/__mock<url>` with `Authorization: Token <key>` (KEY unless told). */
export function control (app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, call: ControlCall = {}): Promise<LightMyRequestResponse> {
  const key = call.key === undefined ? KEY : call.key
  const headers: Record<string, string> = { ...(key === null ? {} : auth(key)), ...call.headers }
  if (call.payload !== undefined) headers['content-type'] = 'application/json'
  return app.inject({ method, url: `/__mock${url}`, headers, ...(call.payload === undefined ? {} : { payload: JSON.stringify(call.payload) }) })
}

/** Asserts a successful answer (200 unless told): status, standard headers and the schema; returns the body. */
export function expectOk<T = unknown> (t: Test, res: LightMyRequestResponse, schema: TSchema, status = 200): T {
  t.equal(res.statusCode, status, `status ${status}`)
  assertStandardHeaders(t, res)
  const body = res.json() as T
  assertSchema(t, schema, body, `matches ${schema.title ?? 'its schema'}`)
  return body
}

/** ISO time `ms` after where the manual clock of `testApp` starts. */
export function isoAt (ms: number): string {
  return new Date(CLOCK_START + ms).toISOString()
}

/** POSTs `{users: rows}` and asserts the 202 in full; returns its body. */
export async function acceptUsers (t: Test, app: FastifyInstance, rows: Array<Record<string, unknown>>, options: { key?: string, at?: number, headers?: Record<string, string> } = {}): Promise<JobAccepted> {
  const payload = JSON.stringify({ users: rows })
  const key = options.key ?? KEY
  const res = await bulkUsers(app, payload, { ...auth(key), ...options.headers })
  return expectAccepted(t, res, { totalRows: rows.length, fileSize: Buffer.byteLength(payload), at: CLOCK_START + (options.at ?? 0), key })
}

/** A job's state as the control API should show it; `history` as [status, ms after CLOCK_START]. */
export interface MockJobState {
  history: Array<[JobStatus, number]>
  completed_rows?: number
  fail_at?: Stage | null
}

/** The whole MockJob expected for an accepted job in a given state. */
export function mockJobView (accepted: JobAccepted, state: MockJobState): MockJob {
  const last = state.history.at(-1) as [JobStatus, number]
  return {
    key_id: accepted.job_id.split(':')[2] as string,
    job_id: accepted.job_id,
    type: accepted.type,
    status: last[0],
    total_rows: accepted.total_rows,
    completed_rows: state.completed_rows ?? 0,
    file_size: accepted.file_size,
    filename: accepted.filename,
    submitted_at: accepted.submitted_at,
    end_time: last[0] === 'completed' || last[0] === 'failed' ? isoAt(last[1]) : null,
    fail_at: state.fail_at ?? null,
    history: state.history.map(([status, ms]) => ({ status, at: isoAt(ms) }))
  }
}
