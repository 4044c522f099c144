import type { FastifyPluginAsync } from 'fastify'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { Empty } from '../../schemas/realtime.js'

/**
 * `GET /v1/validate`: not in Userpilot's docs, but Segment's destination
 * calls it to test the credentials a user enters. The key check in front of
 * every `/v1` route is the whole answer: 200 `{}`, or the 401.
 */
export const validate: FastifyPluginAsync = async (app) => {
  app.get('/validate', {
    schema: {
      tags: ['Userpilot'],
      summary: 'Check an API key',
      description: 'Not documented by Userpilot; Segment\'s Userpilot destination calls it to test credentials. 200 `{}` for an accepted key, 401 otherwise.',
      response: { 200: Empty, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async () => ({}))
}
