import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { apiError, excerpt } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Bytes of the request body as received (the 202's `file_size`). */
    bodyBytes: number
  }
}

/**
 * JSON bodies are read as bytes, so that their size is known without
 * serializing them again, and parsed with plain `JSON.parse`: it defines
 * `__proto__` as an ordinary own key (stored as metadata like any other),
 * where Fastify's default parser would reject the whole body.
 */
export const bodyParser = fp(async function bodyParser (app: FastifyInstance) {
  app.decorateRequest('bodyBytes', 0)
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    request.bodyBytes = body.length
    if (body.length === 0) {
      done(apiError(400, 'empty_body', 'The request body is empty: send a JSON object such as {"users": [...]}.', 'body'), undefined)
      return
    }
    try {
      done(null, JSON.parse(body.toString('utf8')))
    } catch (error) {
      done(apiError(400, 'malformed_json', 'The request body is not valid JSON.', excerpt((error as Error).message, 120)), undefined)
    }
  })
}, { name: 'body-parser', fastify: '5.x' })
