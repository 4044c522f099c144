import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { apiError } from '../errors.js'
import type { Tenant } from '../tenant.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The environment of the request's API key, once authenticated. */
    tenant: Tenant | null
  }
}

/** An incoming x-request-id is echoed only when it is this safe shape. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

const ID_BYTES = 15
/** Random bytes for 256 request ids at a time: one call to the CSPRNG instead of one per request. */
let pool = Buffer.alloc(0)
let offset = 0

function freshId (): string {
  if (offset === pool.length) {
    pool = randomBytes(ID_BYTES * 256)
    offset = 0
  }
  offset += ID_BYTES
  return pool.toString('base64url', offset - ID_BYTES, offset)
}

/** Echo a well-formed incoming x-request-id, else make one shaped like Userpilot's (20 characters). */
export function requestId (request: IncomingMessage): string {
  const incoming = request.headers['x-request-id']
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : freshId()
}

/** The headers the real service sends on every answer. */
export function setStandardHeaders (request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id)
  reply.header('cache-control', 'max-age=0, private, must-revalidate')
}

/**
 * The one log line of a request: its id (from the child logger), the key's
 * id and never the key, and the codes of its fidelity warnings when it has any.
 */
export function logRequest (request: FastifyRequest, reply: FastifyReply): void {
  const warnings = request.warnings?.list ?? []
  request.log.info({
    keyId: request.tenant?.envId ?? null,
    method: request.method,
    url: request.url,
    statusCode: reply.statusCode,
    responseTime: Math.round(reply.elapsedTime * 100) / 100,
    ...(warnings.length === 0 ? {} : { warnings: warnings.map((warning) => warning.code) })
  }, warnings.length === 0 ? 'request' : 'request strays from the docs')
}

/** Standard headers on every answer, and one log line per request (Fastify's own request logging is off). */
export const requestContext = fp(async function requestContext (app: FastifyInstance) {
  app.decorateRequest('tenant', null)
  app.decorateRequest('allKeys', false)
  app.decorateRequest('warnings', null)
  // Callback hooks: on every request, an async hook would cost a promise and a turn of the microtask queue.
  app.addHook('onRequest', (request, reply, done) => {
    setStandardHeaders(request, reply)
    // HTTP/1.1 makes Host mandatory (RFC 9112 §3.2); Node's own check would answer outside the envelope.
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      done(apiError(400, 'missing_host_header', 'An HTTP/1.1 request needs a Host header; HTTP clients send one by themselves.', 'header host'))
      return
    }
    done()
  })
  app.addHook('onResponse', (request, reply, done) => {
    logRequest(request, reply)
    done()
  })
}, { name: 'request-context', fastify: '5.x' })
