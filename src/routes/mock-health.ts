import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { Health } from '../../schemas/health.js'
import { serializerCompiler } from '../http/serialization.js'
import { VERSION } from '../version.js'

/** `GET /__mock/health`: readiness, without auth. */
export const mockHealth: FastifyPluginAsyncTypebox = async (app) => {
  const { clock, startedAt } = app.mock
  app.get('/health', {
    schema: {
      tags: ['Mock control'],
      summary: 'Liveness and readiness',
      response: { 200: Health, '5xx': ErrorEnvelope }
    },
    // The readiness probe's 200 (three fields, all written below) is answered without
    // loading the response serializer, so that a process is healthy as soon as it listens.
    serializerCompiler: (route) => route.httpStatus === '200' ? (data: unknown) => JSON.stringify(data) : serializerCompiler(route)
  }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    uptime_s: Math.max(0, Math.floor((clock.now() - startedAt) / 1000))
  }))
}
