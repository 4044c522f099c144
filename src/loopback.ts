import { once } from 'node:events'
import { Agent, request, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { ControlSend } from './control-calls.js'

/** The base URL of a mock listening on `host` and `port` (an IPv6 address in brackets). */
export function urlOf (host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** Where to connect for a server bound to `address`: loopback for an unspecified (any-interface) address. */
export function connectHost (address: string): string {
  if (address === '0.0.0.0') return '127.0.0.1'
  if (address === '::') return '::1'
  return address
}

/**
 * Control calls to a listening app over its own socket.
 * startMock's accessors use this rather than inject: inject loads
 * light-my-request, which requires `cookie` 2, an ES module, and Jest's
 * CommonJS runtime cannot load one before Node.js 24.9; in a Jest test file
 * on Node 20 or 22 every accessor would fail. Connections are kept alive,
 * and never keep the process alive (the agent unrefs idle sockets; the app
 * closes them when it closes).
 */
export function loopback (app: FastifyInstance): ControlSend {
  const agent = new Agent({ keepAlive: true })
  const { address, port } = app.server.address() as AddressInfo
  const host = connectHost(address)
  return async (options) => {
    const body = options.payload === undefined ? '' : JSON.stringify(options.payload)
    const headers = { ...options.headers, 'content-length': String(Buffer.byteLength(body)), ...(options.payload === undefined ? {} : { 'content-type': 'application/json' }) }
    const req = request({ agent, host, port, method: options.method, path: options.path, headers })
    req.end(body)
    const [res] = await once(req, 'response') as [IncomingMessage]
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    return { status: res.statusCode as number, text: Buffer.concat(chunks).toString('utf8') }
  }
}
