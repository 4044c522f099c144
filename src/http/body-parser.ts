import { isAscii } from 'node:buffer'
import fastifyMultipart from '@fastify/multipart'
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyRequest, preValidationHookHandler } from 'fastify'
import { apiError, excerpt, type ApiError } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes of the request body as received (the 202's `file_size`). */
    bodyBytes: number
    /** The JSON body's bytes, kept by reference for the request journal. */
    rawBody: Buffer | null
  }
}

/** Whether a route takes no body, or one whose schema also accepts null (`{"to"?}` or nothing). */
export function bodyIsOptional (schema: unknown): boolean {
  if (schema === undefined) return true
  const branches = (schema as { anyOf?: Array<{ type?: unknown }> }).anyOf
  return Array.isArray(branches) && branches.some((branch) => branch.type === 'null')
}

/**
 * The text of a JSON body. An all-ASCII body (the usual one) is copied byte
 * for byte, which is the same string UTF-8 decoding gives: Node.js 20's
 * UTF-8 decoder takes about 10 ms for a 2.5 MB body, where the check and the
 * copy take well under one (BENCHMARKS.md section 8).
 */
export function bodyText (body: Buffer): string {
  return body.toString(isAscii(body) ? 'latin1' : 'utf8')
}

/**
 * JSON bodies are read as bytes, so that their size is known without
 * serializing them again, and parsed with plain `JSON.parse`: it defines
 * `__proto__` as an ordinary own key (stored as metadata like any other),
 * where Fastify's default parser would reject the whole body.
 */
export const bodyParser = fp(async function bodyParser (app: FastifyInstance) {
  app.decorateRequest('bodyBytes', 0)
  app.decorateRequest('rawBody', null)
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.bodyBytes = body.length
    request.rawBody = body
    if (body.length === 0) {
      // A call whose body is optional (advance, fail, flush, reset): an empty one is no body.
      if (bodyIsOptional(request.routeOptions.schema?.body)) {
        done(null, null)
        return
      }
      const collection = /\/(\w+)\/bulk_identify$/.exec(String(request.routeOptions.url))?.[1]
      const expected = collection === undefined ? 'a JSON object' : `a JSON object such as {"${collection}": [...]}`
      done(apiError(400, 'empty_body', `The request body is empty: send ${expected}.`, 'body'), undefined)
      return
    }
    try {
      done(null, JSON.parse(bodyText(body)))
    } catch (error) {
      done(apiError(400, 'malformed_json', 'The request body is not valid JSON.', excerpt((error as Error).message, 120)), undefined)
    }
  })
}, { name: 'body-parser', fastify: '5.x' })

/** A 415: the content type the route takes instead of `given` (the header's value, or none). */
export function unsupportedContentType (given: string | undefined, multipart: boolean): ApiError {
  return apiError(415, 'unsupported_content_type',
    `Send the body as Content-Type: application/json${multipart ? ' (or multipart/form-data with an NDJSON file in the field "file")' : ''}.`,
    `content-type ${excerpt(given ?? '(none)')}`)
}

/** Whether a route takes uploads (the bulk routes list multipart/form-data among their body's content types). */
export function takesUploads (request: FastifyRequest): boolean {
  const body = request.routeOptions.schema?.body as { content?: Record<string, unknown> } | undefined
  return body?.content?.['multipart/form-data'] !== undefined
}

/**
 * A JSON route's body is required: without one (and so without a Content-Type)
 * the answer is the 415 of the documented order of checks, not a validation 400.
 */
export const requireJsonBody: preValidationHookHandler = function requireJsonBody (request, _reply, done) {
  // No body and no Content-Type: nothing was parsed, so the content type is what is wrong.
  done(request.body === undefined ? unsupportedContentType(undefined, false) : undefined)
}

/**
 * NDJSON uploads, left to @fastify/multipart and read by the bulk routes: one
 * file, streamed; the file limit is the body limit (50 MB by default, as
 * documented). Registered in the bulk routes' scope only, so that its hooks
 * cost nothing on the other routes.
 */
export async function multipartUploads (app: FastifyInstance, fileLimit: number): Promise<void> {
  await app.register(fastifyMultipart, { limits: { fileSize: fileLimit, files: 1, parts: 10 } })
}
