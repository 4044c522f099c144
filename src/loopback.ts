import { once } from 'node:events'
import { Agent, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** A request as startMock's accessors make it. */
export interface LoopbackRequest {
  /** GET when left out, as with inject. */
  method?: string
  url: string
  headers: Record<string, string>
  /** Sent as JSON. */
  payload?: object
}

/** An answer, as `inject` gives one: the status and the body, parsed on demand. */
export interface LoopbackResponse {
  statusCode: number
  json: <T = unknown>() => T
}

/** Where to connect for a server bound to `address`: loopback for an unspecified (any-interface) address. */
export function connectHost (address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1'
  if (address === '::') return '::1'
  return address
}

/**
 * Requests to a listening app over its own socket, shaped like `app.inject`.
 * startMock's accessors use this rather than inject: inject loads
 * light-my-request, which requires `cookie` 2, an ES module, and Jest's
 * CommonJS runtime cannot load one before Node.js 24.9; in a Jest test file
 * on Node 20 or 22 every accessor would fail. Connections are kept alive,
 * and never keep the process alive (the agent unrefs idle sockets; the app
 * closes them when it closes).
 */
export function loopback (app: FastifyInstance): (options: LoopbackRequest) => Promise<LoopbackResponse> {
  const agent = new Agent({ keepAlive: true })
  const { address, port } = app.server.address() as AddressInfo
  const host = connectHost(address)
  return async (options) => {
    const body = options.payload === undefined ? '' : JSON.stringify(options.payload)
    const headers = { ...options.headers, 'content-length': String(Buffer.byteLength(body)), ...(options.payload === undefined ? {} : { 'content-type': 'application/json' }) }
    const req = request({ agent, host, port, method: options.method, path: options.url, headers })
    req.end(body)
    const [res] = await once(req, 'response') as [IncomingMessage]
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString('utf8')
    return { statusCode: res.statusCode as number, json: <T>() => JSON.parse(text) as T }
  }
}
