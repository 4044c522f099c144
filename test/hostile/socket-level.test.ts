import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { ErrorEnvelope, type ErrorEntry } from '../../schemas/errors.js'
import { assertSchema, auth, testApp } from '../helpers/app.js'
import { logSink, type LogSink } from '../helpers/http.js'
import { RawClient, httpRequest, listenLocal, type WireResponse } from '../helpers/raw-http.js'

/**
 * What only a real socket can send: requests trickled or cut off, idle
 * keep-alive connections, bytes that are not HTTP, chunked bodies. The app
 * listens on 127.0.0.1 with small timeouts, so every wait is real time but
 * bounded (each wait at most 1.5 s or 2 s; most answers come in under 1 s).
 */

const TIMEOUTS = { headersMs: 200, requestMs: 500, keepAliveMs: 100, idleMs: 3000 }
const BODY_LIMIT = 4096
const BODY = '{"users":[{"user_id":"u1"}]}'

const timedOut: ErrorEntry = {
  error: 'request_timeout',
  error_code: 'request_timeout',
  message: 'The request (headers or body) took too long to arrive, so the mock closed the connection. Send it again in one go.',
  details: 'connection timeout'
}

function malformed (code: string): ErrorEntry {
  return { error: 'invalid_request', error_code: 'malformed_http', message: 'The request is not valid HTTP/1.1, so the mock could not read it.', details: JSON.stringify(code) }
}

interface Listening {
  app: FastifyInstance
  port: number
  logs: LogSink
}

async function listening (t: Test): Promise<Listening> {
  const logs = logSink()
  const { app } = await testApp(t, { MOCK_BODY_LIMIT: BODY_LIMIT }, { timeouts: TIMEOUTS, logger: { level: 'warn', stream: logs.stream } })
  return { app, port: await listenLocal(app), logs }
}

/** A connection-level answer: the status, exactly this envelope, and `Connection: close`. */
function expectConnectionError (t: Test, res: WireResponse | undefined, status: number, entry: ErrorEntry): void {
  t.equal(res?.statusCode, status, `status ${status}`)
  t.equal(res?.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res?.headers.connection, 'close')
  const body: unknown = JSON.parse(res?.body ?? 'null')
  assertSchema(t, ErrorEnvelope, body, 'an ErrorEnvelope')
  t.same(body, { errors: [entry] }, 'the whole body')
}

/** The listening server still answers GET /__mock/health on a new connection. */
async function expectHealthy (t: Test, port: number): Promise<void> {
  const client = await RawClient.open(port)
  await client.write(httpRequest('GET', '/__mock/health', { connection: 'close' }))
  const res = await client.response(1000)
  t.equal(res?.statusCode, 200, 'GET /__mock/health still answers 200')
  t.equal(JSON.parse(res?.body ?? '{}').status, 'ok')
  client.destroy()
}

/** Nothing stored or queued for the key. */
async function expectNoJob (t: Test, app: FastifyInstance, key: string): Promise<void> {
  const jobs = await app.inject({ method: 'GET', url: '/__mock/jobs', headers: auth(key) })
  t.same(jobs.json(), [], `no job for ${key}`)
}

/** No log line at error level or above: nothing failed inside the mock. */
function expectNoErrorLogs (t: Test, logs: LogSink): void {
  t.same(logs.lines.filter((line) => (line.level as number) >= 50), [], 'no error logged')
}

t.test('headers trickled one byte every 50 ms: 408 envelope, then the connection closes', async (t) => {
  const { port, logs } = await listening(t)
  const client = await RawClient.open(port)
  const request = httpRequest('GET', '/__mock/health', { 'x-slow': 'loris' })
  const sending = client.trickle(request, 50)
  const res = await client.response(1500)
  expectConnectionError(t, res, 408, timedOut)
  const closedAfter = await client.waitClosed(1000)
  // Node checks the deadline every min(1000, headersMs) ms: the close comes between headersMs and twice that, plus load.
  t.ok(closedAfter >= TIMEOUTS.headersMs, `closed after headersMs (${Math.round(closedAfter)} ms)`)
  t.ok(closedAfter < 1500, 'closed within 1.5 s')
  t.ok(await sending < request.length, 'the request never got through')
  await expectHealthy(t, port)
  expectNoErrorLogs(t, logs)
})

t.test('a connection that sends nothing: 408 after headersMs, then closed', async (t) => {
  const { port } = await listening(t)
  const client = await RawClient.open(port)
  expectConnectionError(t, await client.response(1500), 408, timedOut)
  const closedAfter = await client.waitClosed(1000)
  t.ok(closedAfter >= TIMEOUTS.headersMs && closedAfter < 1500, `closed after ${Math.round(closedAfter)} ms`)
  await expectHealthy(t, port)
})

t.test('a body trickled slower than requestMs: 408, closed, no job created', async (t) => {
  const { app, port, logs } = await listening(t)
  const client = await RawClient.open(port)
  await client.write(httpRequest('POST', '/v1/users/bulk_identify', { ...auth('slow-body'), 'content-type': 'application/json', 'content-length': String(BODY.length) }))
  const sending = client.trickle(BODY, 100)
  expectConnectionError(t, await client.response(1500), 408, timedOut)
  const closedAfter = await client.waitClosed(1000)
  t.ok(closedAfter >= TIMEOUTS.requestMs, `not before requestMs (${Math.round(closedAfter)} ms)`)
  t.ok(closedAfter < 1500, 'closed within 1.5 s')
  t.ok(await sending < BODY.length, 'the body never got through')
  await expectNoJob(t, app, 'slow-body')
  await expectHealthy(t, port)
  expectNoErrorLogs(t, logs)
})

t.test('a chunked body that stalls: 408, no job created', async (t) => {
  const { app, port } = await listening(t)
  const client = await RawClient.open(port)
  await client.write(httpRequest('POST', '/v1/users/bulk_identify', { ...auth('stalled'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, '5\r\n{"use'))
  expectConnectionError(t, await client.response(1500), 408, timedOut)
  await client.waitClosed(1000)
  await expectNoJob(t, app, 'stalled')
  await expectHealthy(t, port)
})

t.test('an idle keep-alive connection: reusable at once, closed after keepAliveMs (plus Node\'s 1 s margin)', async (t) => {
  const { port } = await listening(t)
  const client = await RawClient.open(port)
  await client.write(httpRequest('GET', '/__mock/health'))
  const first = await client.response(1000)
  t.equal(first?.statusCode, 200)
  t.equal(first?.headers.connection, 'keep-alive')
  await client.write(httpRequest('GET', '/__mock/health'))
  t.equal((await client.response(1000))?.statusCode, 200, 'a second request on the same connection')
  const idleFrom = performance.now()
  await client.waitClosed(2000)
  const idle = performance.now() - idleFrom
  // Node 20 keeps the socket keepAliveTimeout + 1000 ms (HTTP_SERVER_KEEP_ALIVE_TIMEOUT_BUFFER) to avoid racing the client.
  t.ok(idle >= TIMEOUTS.keepAliveMs, `not before keepAliveMs (${Math.round(idle)} ms)`)
  t.ok(idle < TIMEOUTS.keepAliveMs + 1500, 'closed within keepAliveMs + 1.5 s')
  t.equal(client.received().toString('latin1').match(/HTTP\/1\.1 /g)?.length, 2, 'nothing sent on the idle connection')
  await expectHealthy(t, port)
})

t.test('a 20 KB header or request line: 431 envelope, closed', async (t) => {
  const { port } = await listening(t)
  const tooLarge: ErrorEntry = {
    error: 'invalid_request',
    error_code: 'headers_too_large',
    message: 'The request headers are larger than the server accepts (16 KB). Send fewer or shorter headers.',
    details: 'request headers'
  }
  for (const [name, request] of [
    ['a 20 KB header', httpRequest('GET', '/__mock/health', { 'x-big': 'a'.repeat(20_000) })],
    ['a 20 KB URL', httpRequest('GET', `/__mock/health?${'q'.repeat(20_000)}`)],
    ['400 headers of 50 bytes', httpRequest('GET', '/__mock/health', Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`x-h${i}`, 'a'.repeat(50)])))]
  ] as const) {
    const client = await RawClient.open(port)
    await client.write(request)
    const res = await client.response(1000)
    expectConnectionError(t, res, 431, tooLarge)
    t.notOk(res?.body.includes('aaaaaaaaaa'), `${name}: nothing of it echoed`)
    await client.waitClosed(1000)
  }
  await expectHealthy(t, port)
})

t.test('bytes that are not HTTP/1.1: 400 malformed_http naming the parser error, closed', async (t) => {
  const { app, port, logs } = await listening(t)
  const cases: Array<[string, string | Buffer, string]> = [
    ['a TLS ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x01, 0x00, 0x00, 0xfb, 0x03, 0x03, 0x0d, 0x0a, 0x0d, 0x0a]), 'HPE_INVALID_METHOD'],
    ['plain text', 'HELLO WORLD\r\n\r\n', 'HPE_INVALID_METHOD'],
    ['binary noise with NUL', Buffer.from([0x00, 0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]), 'HPE_INVALID_METHOD'],
    ['HTTP/9.9', 'GET /__mock/health HTTP/9.9\r\nHost: x\r\n\r\n', 'HPE_INVALID_VERSION'],
    ['LF-only line ends', 'GET /__mock/health HTTP/1.1\nHost: x\n\n', 'HPE_INVALID_VERSION'],
    ['a space in a header name', 'GET /__mock/health HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['NUL in a header value', 'GET /__mock/health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN'],
    ['Content-Length and Transfer-Encoding together', httpRequest('POST', '/v1/users/bulk_identify', { ...auth('smuggle'), 'content-type': 'application/json', 'content-length': '5', 'transfer-encoding': 'chunked' }, '0\r\n\r\n'), 'HPE_INVALID_TRANSFER_ENCODING'],
    ['two different Content-Lengths', 'POST /v1/users/bulk_identify HTTP/1.1\r\nHost: x\r\nAuthorization: Token smuggle\r\nContent-Type: application/json\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef', 'HPE_UNEXPECTED_CONTENT_LENGTH'],
    ['a chunk size that is not hex', httpRequest('POST', '/v1/users/bulk_identify', { ...auth('smuggle'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, 'zz\r\nabc\r\n0\r\n\r\n'), 'HPE_INVALID_CHUNK_SIZE']
  ]
  for (const [name, bytes, code] of cases) {
    t.test(name, async (t) => {
      const client = await RawClient.open(port)
      await client.write(bytes)
      expectConnectionError(t, await client.response(1000), 400, malformed(code))
      await client.waitClosed(1000)
    })
  }
  t.test('nothing was created, the server is healthy', async (t) => {
    await expectNoJob(t, app, 'smuggle')
    await expectHealthy(t, port)
    expectNoErrorLogs(t, logs)
  })
})

t.test('chunked bodies: whole ones are read, ones over the limit are 413', async (t) => {
  const { app, port } = await listening(t)
  const split = `${(10).toString(16)}\r\n${BODY.slice(0, 10)}\r\n${(BODY.length - 10).toString(16)}\r\n${BODY.slice(10)}\r\n0\r\n\r\n`
  const ok = await RawClient.open(port)
  await ok.write(httpRequest('POST', '/v1/users/bulk_identify', { ...auth('chunked'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, split))
  const accepted = await ok.response(1000)
  t.equal(accepted?.statusCode, 202)
  t.equal(JSON.parse(accepted?.body ?? '{}').file_size, BODY.length, 'file_size counts the body, not the chunk framing')
  ok.destroy()

  const big = `{"users":[{"user_id":"${'a'.repeat(BODY_LIMIT)}"}]}`
  const over = await RawClient.open(port)
  await over.write(httpRequest('POST', '/v1/users/bulk_identify', { ...auth('chunked-big'), 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, `${big.length.toString(16)}\r\n${big}\r\n0\r\n\r\n`))
  const refused = await over.response(1000)
  t.equal(refused?.statusCode, 413)
  t.same(JSON.parse(refused?.body ?? '{}'), {
    errors: [{
      error: 'payload_too_large',
      error_code: 'body_too_large',
      message: `The request body is larger than ${BODY_LIMIT} bytes (MOCK_BODY_LIMIT). Split the rows into several requests.`,
      details: `limit ${BODY_LIMIT} bytes`
    }]
  })
  over.destroy()
  await expectNoJob(t, app, 'chunked-big')
  await expectHealthy(t, port)
})

t.test('requests aborted mid-body: no job, no error, the server healthy', async (t) => {
  const { app, port, logs } = await listening(t)
  for (const [key, headers, sent] of [
    ['abort-length', { 'content-length': '1000' }, BODY],
    ['abort-chunked', { 'transfer-encoding': 'chunked' }, `${(100).toString(16)}\r\n${BODY}`],
    ['abort-multipart', { 'content-type': 'multipart/form-data; boundary=XX', 'content-length': '5000' }, '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.ndjson"\r\n\r\n{"user_id":"u1"}\n']
  ] as const) {
    const client = await RawClient.open(port)
    await client.write(httpRequest('POST', '/v1/users/bulk_identify', { ...auth(key), 'content-type': 'application/json', ...headers }, sent))
    client.destroy()
    await client.waitClosed(1000)
  }
  // The server sees each reset on its next read; one health round-trip later every abort has been handled.
  await expectHealthy(t, port)
  for (const key of ['abort-length', 'abort-chunked', 'abort-multipart']) await expectNoJob(t, app, key)
  expectNoErrorLogs(t, logs)
})

t.test('pipelined requests on one connection are answered in order', async (t) => {
  const { port } = await listening(t)
  const client = await RawClient.open(port)
  await client.write(Buffer.concat([
    httpRequest('GET', '/__mock/health'),
    httpRequest('POST', '/v1/users/bulk_identify', { ...auth('pipelined'), 'content-type': 'text/plain' }, 'x'),
    httpRequest('GET', '/__mock/health', { connection: 'close' })
  ]))
  t.equal((await client.response(1000))?.statusCode, 200)
  t.equal((await client.response(1000))?.statusCode, 415)
  t.equal((await client.response(1000))?.statusCode, 200)
  await client.waitClosed(1000)
})

t.test('HTTP/1.1 without a Host header: 400 in the envelope', async (t) => {
  const { port } = await listening(t)
  const client = await RawClient.open(port)
  await client.write('GET /__mock/health HTTP/1.1\r\n\r\n')
  const res = await client.response(1000)
  t.equal(res?.statusCode, 400)
  const body = JSON.parse(res?.body ?? 'null') as ErrorEnvelope
  assertSchema(t, ErrorEnvelope, body)
  t.equal(body.errors[0]?.error_code, 'missing_host_header')
  const http10 = await RawClient.open(port)
  await http10.write('GET /__mock/health HTTP/1.0\r\n\r\n')
  t.equal((await http10.response(1000))?.statusCode, 200, 'HTTP/1.0 needs no Host')
})
