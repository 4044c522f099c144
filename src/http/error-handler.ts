import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError, apiError, envelope, excerpt, labelFor, shortText } from '../errors.js'
import { StoreUnavailableError } from '../store/store-unavailable.js'
import { takesUploads, unsupportedContentType } from './body-parser.js'
import { logRequest, setStandardHeaders } from './request-context.js'
import { validationEntries } from './validation.js'

function internalError (requestId: string): ErrorEntry {
  return {
    error: labelFor(500),
    error_code: 'internal_error',
    message: 'The mock failed on this request. Its log has the details under this request id.',
    details: `request id ${requestId}`
  }
}

/** Fastify's own errors that a client causes, in Userpilot's words. */
function fromFastifyError (error: FastifyError, request: FastifyRequest, limits: BodyLimits): ApiError | undefined {
  const { bodyLimit } = limits
  const contentType = request.headers['content-type']
  switch (error.code) {
    case 'FST_ERR_VALIDATION': {
      const context = error.validationContext ?? 'body'
      const entries = validationEntries(error.validation ?? [], context)
      return entries.length > 0 ? new ApiError(400, entries) : apiError(400, 'invalid_request', error.message, context)
    }
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return unsupportedContentType(contentType, takesUploads(request))
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      // The real-time /v1 calls take MOCK_REALTIME_BODY_LIMIT, some control routes less (a fault rule: 1 MiB).
      const limit = request.routeOptions.bodyLimit as number
      const message = limit === bodyLimit
        ? `The request body is larger than ${bodyLimit} bytes (MOCK_BODY_LIMIT). Split the rows into several requests.`
        : String(request.routeOptions.url).startsWith('/v1/')
          ? `The request body is larger than ${limit} bytes (MOCK_REALTIME_BODY_LIMIT): a real-time call carries one profile or event; send many through the bulk endpoints.`
          : `The request body is larger than ${limit} bytes, the most this route takes.`
      return apiError(413, 'body_too_large', message, `limit ${limit} bytes`)
    }
    case 'FST_REQ_FILE_TOO_LARGE':
      return apiError(413, 'file_too_large',
        `The uploaded file is larger than ${bodyLimit} bytes (MOCK_BODY_LIMIT; the documented limit is 50 MB). Split the rows into several files.`,
        `limit ${bodyLimit} bytes`)
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
    case 'FST_PROTO_VIOLATION':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return apiError(400, 'invalid_upload_field', 'Send exactly one NDJSON file in the form field "file", and nothing else.', 'multipart body')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError(400, 'invalid_content_length', 'The Content-Length header does not match the body that was sent.', 'content-length')
    default:
      return undefined
  }
}

/**
 * One place that turns every failure into Userpilot's `errors[]` envelope:
 * our ApiErrors, Fastify's client errors (validation, body parsing, limits),
 * unknown routes, and — without its stack — anything unexpected.
 */
/** The body limit the 413 messages name. */
interface BodyLimits { bodyLimit: number }

export const errorHandler = fp(async function errorHandler (app: FastifyInstance, options: BodyLimits) {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    // Redis (MOCK_STORE) down or restarting: the client may retry; the mock recovers by itself.
    if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error }, 'state store unavailable')
      return reply.code(503).header('retry-after', '1').send(envelope(503, 'store_unavailable', 'The mock cannot reach its Redis store (MOCK_STORE) right now; retry in a moment.', error.reason))
    }
    const known = error instanceof ApiError ? error : fromFastifyError(error, request, options)
    if (known !== undefined) {
      return reply.code(known.statusCode).headers(known.headers).send({ errors: known.entries })
    }
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500
    if (status === 500) {
      request.log.error({ err: error }, 'unexpected error')
      return reply.code(500).send({ errors: [internalError(request.id)] })
    }
    return reply.code(status).send({ errors: [clientErrorEntry(status, error, request.url)] })
  })

  app.setNotFoundHandler(routeNotFound)
}, { name: 'error-handler', fastify: '5.x' })

/**
 * Unknown routes: 404 in the envelope. The root handles every path; the `/v1`
 * scope sets it again so that its own hooks (the key, faults, the journal)
 * run for an unknown Userpilot path too.
 */
export async function routeNotFound (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  return await reply.code(404).send({
    errors: [{
      error: labelFor(404),
      error_code: 'route_not_found',
      message: `There is no ${request.method} ${excerpt(request.url.split('?')[0] as string, 120)} route. /documentation lists what the mock serves: Userpilot's API under /v1, the mock's control API under /__mock.`,
      details: `${request.method} ${excerpt(request.url, 120)}`
    }]
  })
}

/** The router's own words echo the whole URL; these say what to fix instead. */
const ROUTER_MESSAGES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'The URL has a malformed percent-encoding (such as a lone "%" or a cut "%E0%A4"). Encode each reserved character as %XX.',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter (such as a job id) is longer than 1024 characters. Job ids look like bulk:jobs:<env>:<uuid>.'
}

/** A client error without a mapping of its own: its status label, and its code without Fastify's prefix; input only as a short excerpt. */
function clientErrorEntry (status: number, error: FastifyError, url: string): ErrorEntry {
  const code = (error.code ?? 'bad_request').replace(/^FST_ERR_/, '').toLowerCase()
  const message = ROUTER_MESSAGES[error.code] ?? shortText(error.message, 200)
  return { error: labelFor(status), error_code: code, message, details: excerpt(url, 100) }
}

/**
 * Errors the router raises before any hook runs (a malformed percent-encoding,
 * an over-long parameter): the same envelope, headers and log line as the rest.
 */
export function frameworkErrors (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  // The router's errors always carry their status (400 bad URL, 414 parameter too long).
  const status = error.statusCode as number
  setStandardHeaders(request, reply)
  reply.code(status).send({ errors: [clientErrorEntry(status, error, request.url)] })
  logRequest(request, reply)
}

/** What a client did wrong at the connection level, before there is a request to answer. */
function socketError (code: string | undefined): [number, string, string, string] {
  switch (code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return [408, 'request_timeout', 'The request (headers or body) took too long to arrive, so the mock closed the connection. Send it again in one go.', 'connection timeout']
    case 'HPE_HEADER_OVERFLOW':
      return [431, 'headers_too_large', 'The request headers are larger than the server accepts (16 KB). Send fewer or shorter headers.', 'request headers']
    default:
      return [400, 'malformed_http', 'The request is not valid HTTP/1.1, so the mock could not read it.', excerpt(code ?? 'parse error')]
  }
}

/**
 * Connection-level errors (timeouts, unreadable HTTP) in the same envelope as
 * the rest; Fastify's default answers them in a shape of its own.
 */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return
  const [status, code, message, details] = socketError(error.code)
  const body = JSON.stringify(envelope(status, code, message, details))
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status] as string}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}
