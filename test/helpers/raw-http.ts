import { connect, type AddressInfo, type Socket } from 'node:net'
import { once } from 'node:events'
import type { FastifyInstance } from 'fastify'

/** An HTTP/1.1 answer read off the wire. */
export interface WireResponse {
  statusCode: number
  /** Header names lower-cased; a repeated header keeps its last value. */
  headers: Record<string, string>
  body: string
  /** The head as received, to check that no injected header line is in it. */
  head: string
}

/** Listens on 127.0.0.1 on a free port (once) and returns the port. */
export async function listenLocal (app: FastifyInstance): Promise<number> {
  if (!app.server.listening) await app.listen({ port: 0, host: '127.0.0.1' })
  return (app.server.address() as AddressInfo).port
}

/** The body of a chunked message starting at `start`, and where it ends; undefined while incomplete. */
function dechunk (bytes: Buffer, start: number): { body: Buffer, end: number } | undefined {
  const parts: Buffer[] = []
  let at = start
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at)
    if (lineEnd === -1) return undefined
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16)
    const dataStart = lineEnd + 2
    if (size === 0) {
      // No trailers are sent by Node: the last chunk is followed by an empty line.
      return bytes.length >= dataStart + 2 ? { body: Buffer.concat(parts), end: dataStart + 2 } : undefined
    }
    if (bytes.length < dataStart + size + 2) return undefined
    parts.push(bytes.subarray(dataStart, dataStart + size))
    at = dataStart + size + 2
  }
}

/**
 * One complete response at the start of `bytes`, with the number of bytes it
 * took; undefined while it is incomplete. A response with neither
 * Content-Length nor chunking runs to the connection's end, so it counts as
 * complete only when `closed`.
 */
export function parseResponse (bytes: Buffer, closed = false): { response: WireResponse, length: number } | undefined {
  const end = bytes.indexOf('\r\n\r\n')
  if (end === -1) return undefined
  const head = bytes.subarray(0, end).toString('latin1')
  const [status = '', ...fields] = head.split('\r\n')
  const statusCode = Number(status.split(' ')[1])
  const headers: Record<string, string> = {}
  for (const field of fields) {
    const colon = field.indexOf(':')
    headers[field.slice(0, colon).trim().toLowerCase()] = field.slice(colon + 1).trim()
  }
  const start = end + 4
  const response = (body: Buffer): WireResponse => ({ statusCode, headers, body: body.toString('utf8'), head })
  if (statusCode < 200 || statusCode === 204 || statusCode === 304) return { response: response(Buffer.alloc(0)), length: start }
  if (headers['transfer-encoding'] === 'chunked') {
    const chunked = dechunk(bytes, start)
    return chunked === undefined ? undefined : { response: response(chunked.body), length: chunked.end }
  }
  const declared = headers['content-length']
  if (declared === undefined && !closed) return undefined
  const length = declared === undefined ? bytes.length - start : Number(declared)
  if (bytes.length < start + length) return undefined
  return { response: response(bytes.subarray(start, start + length)), length: start + length }
}

/** Rejects after `ms` unless `promise` settles first; the timer never outlives the wait. */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A raw TCP client for what `inject` cannot do: bytes that are not valid HTTP,
 * requests sent slowly or cut off, idle keep-alive connections. It records
 * every byte received and when the server closed the connection.
 */
export class RawClient {
  readonly socket: Socket
  /** When the connection was opened (performance.now()). */
  readonly openedAt: number
  /** Resolves with the ms from opening to the close of the connection. */
  readonly closed: Promise<number>
  /** Errors the socket saw (a reset when the server closes on a writer): recorded, never thrown. */
  readonly errors: string[] = []
  private chunks: Buffer[] = []
  private consumed = 0
  private isClosed = false
  private waiters: Array<() => void> = []

  private constructor (socket: Socket) {
    this.socket = socket
    this.openedAt = performance.now()
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      this.wake()
    })
    socket.on('error', (error: Error & { code?: string }) => { this.errors.push(error.code ?? error.message) })
    this.closed = once(socket, 'close').then(() => {
      this.isClosed = true
      this.wake()
      return performance.now() - this.openedAt
    })
  }

  /** Connects to 127.0.0.1:`port`. */
  static async open (port: number): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1')
    const client = new RawClient(socket)
    await within(once(socket, 'connect'), 1000, 'connect')
    return client
  }

  private wake (): void {
    for (const waiter of this.waiters.splice(0)) waiter()
  }

  /** Everything received so far. */
  received (): Buffer {
    return Buffer.concat(this.chunks)
  }

  /** True once the server (or this side) closed the connection. */
  get isOpen (): boolean {
    return !this.isClosed
  }

  /** Writes bytes, resolving when they are handed to the OS (or at once when the socket is gone). */
  async write (data: string | Buffer): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return
    await new Promise<void>((resolve) => this.socket.write(data, () => resolve()))
  }

  /**
   * Writes `data` one byte every `everyMs`, until all is sent or the
   * connection closes; resolves with the number of bytes written.
   */
  async trickle (data: string | Buffer, everyMs: number): Promise<number> {
    const bytes = Buffer.from(data)
    let sent = 0
    while (sent < bytes.length && this.isOpen && this.socket.writable) {
      await this.write(bytes.subarray(sent, sent + 1))
      sent++
      await Promise.race([new Promise((resolve) => setTimeout(resolve, everyMs)), this.closed])
    }
    return sent
  }

  /**
   * The next complete response on this connection, waiting at most `ms`;
   * undefined when the connection closed without one.
   */
  async response (ms = 1000): Promise<WireResponse | undefined> {
    const deadline = performance.now() + ms
    for (;;) {
      const parsed = parseResponse(this.received().subarray(this.consumed), this.isClosed)
      if (parsed !== undefined) {
        this.consumed += parsed.length
        return parsed.response
      }
      if (this.isClosed) return undefined
      const left = deadline - performance.now()
      if (left <= 0) throw new Error(`no complete response within ${ms} ms; got ${JSON.stringify(this.received().toString('latin1').slice(0, 200))}`)
      await within(new Promise<void>((resolve) => this.waiters.push(resolve)), left, 'response').catch(() => undefined)
    }
  }

  /** Waits at most `ms` for the connection to close; resolves with ms from opening to the close. */
  async waitClosed (ms = 1000): Promise<number> {
    return await within(this.closed, ms, 'close')
  }

  /** Closes this side at once. */
  destroy (): void {
    this.socket.destroy()
  }
}

/** A minimal HTTP/1.1 request as bytes, with Host and Content-Length (when there is a body) filled in. */
export function httpRequest (method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Buffer {
  const all: Record<string, string> = { host: '127.0.0.1', ...headers }
  if (body !== undefined && all['content-length'] === undefined && all['transfer-encoding'] === undefined) all['content-length'] = String(Buffer.byteLength(body))
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body ?? '')])
}
