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

/** Asserts a 202: status, headers, the JobAccepted schema and every field; returns the body. */
export function expectAccepted (t: Test, res: LightMyRequestResponse, expected: ExpectedAccepted): JobAccepted {
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
    filename: `bulk_identify_users_${uuid}.json`,
    type: 'users',
    links: `${expected.base ?? 'http://localhost:80'}/v1/background_jobs/bulk:jobs:${envId}:${uuid}`,
    start_time: iso,
    submitted_at: iso,
    end_time: null
  }, 'the whole 202 body')
  return body
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
