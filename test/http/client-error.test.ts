import t from 'tap'
import type { Socket } from 'node:net'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { clientErrorHandler } from '../../src/http/error-handler.js'
import { assertSchema } from '../helpers/app.js'
import { parseResponse } from '../helpers/raw-http.js'

/** A stand-in for the socket Node hands to `clientError`: records writes and destroys. */
class FakeSocket {
  destroyed: boolean
  writable: boolean
  written: string[] = []
  destroyCalls = 0

  constructor (state: { destroyed?: boolean, writable?: boolean } = {}) {
    this.destroyed = state.destroyed ?? false
    this.writable = state.writable ?? true
  }

  write (data: string): boolean {
    this.written.push(data)
    return true
  }

  destroy (): this {
    this.destroyCalls++
    this.destroyed = true
    return this
  }

  asSocket (): Socket {
    return this as unknown as Socket
  }
}

function clientError (code: string | undefined, message = 'client error'): Error & { code?: string } {
  return Object.assign(new Error(message), code === undefined ? {} : { code })
}

t.test('each connection-level error: its status and envelope, Connection: close, then the socket is destroyed', async (t) => {
  const cases: Array<[string | undefined, number, string, string, string]> = [
    ['ERR_HTTP_REQUEST_TIMEOUT', 408, 'Request Timeout', 'request_timeout', 'connection timeout'],
    ['HPE_HEADER_OVERFLOW', 431, 'Request Header Fields Too Large', 'headers_too_large', 'request headers'],
    ['HPE_INVALID_METHOD', 400, 'Bad Request', 'malformed_http', '"HPE_INVALID_METHOD"'],
    [undefined, 400, 'Bad Request', 'malformed_http', '"parse error"']
  ]
  for (const [code, status, reason, errorCode, details] of cases) {
    t.test(code ?? 'an error without a code', async (t) => {
      const socket = new FakeSocket()
      clientErrorHandler(clientError(code), socket.asSocket())
      t.equal(socket.written.length, 1, 'one write')
      t.equal(socket.destroyCalls, 1, 'destroyed after the answer')
      const raw = socket.written[0] as string
      t.ok(raw.startsWith(`HTTP/1.1 ${status} ${reason}\r\n`), 'status line')
      const parsed = parseResponse(Buffer.from(raw))
      t.equal(parsed?.length, Buffer.byteLength(raw), 'Content-Length covers exactly the body')
      t.same(parsed?.response.headers, {
        'content-length': String(Buffer.byteLength(parsed?.response.body ?? '')),
        'content-type': 'application/json; charset=utf-8',
        connection: 'close'
      })
      const body: unknown = JSON.parse(parsed?.response.body ?? 'null')
      assertSchema(t, ErrorEnvelope, body)
      t.match(body, { errors: [{ error_code: errorCode, details }] })
      t.equal((body as { errors: unknown[] }).errors.length, 1)
    })
  }
})

t.test('a long or hostile error code is quoted short and escaped', async (t) => {
  const socket = new FakeSocket()
  clientErrorHandler(clientError(`HPE_${'X'.repeat(500)}\r\nSet-Cookie: a=b`), socket.asSocket())
  const raw = socket.written[0] as string
  const head = raw.slice(0, raw.indexOf('\r\n\r\n'))
  t.notMatch(head, /set-cookie/i, 'no header injected')
  const details = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)).errors[0].details as string
  t.ok(details.length < 80, `details cut (${details.length} characters)`)
  t.notMatch(details, /[\r\n]/, 'no raw line break')
})

t.test('ECONNRESET: nobody is left to answer; nothing written, nothing destroyed', async (t) => {
  const socket = new FakeSocket()
  clientErrorHandler(clientError('ECONNRESET'), socket.asSocket())
  t.same(socket.written, [])
  t.equal(socket.destroyCalls, 0)
})

t.test('a socket already destroyed: left alone', async (t) => {
  const socket = new FakeSocket({ destroyed: true })
  clientErrorHandler(clientError('ERR_HTTP_REQUEST_TIMEOUT'), socket.asSocket())
  t.same(socket.written, [])
  t.equal(socket.destroyCalls, 0)
})

t.test('a socket that can no longer be written: destroyed without an answer', async (t) => {
  const socket = new FakeSocket({ writable: false })
  clientErrorHandler(clientError('HPE_HEADER_OVERFLOW'), socket.asSocket())
  t.same(socket.written, [])
  t.equal(socket.destroyCalls, 1)
})
