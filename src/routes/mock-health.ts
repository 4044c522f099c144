import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { Health } from '../../schemas/health.js'
import { VERSION } from '../version.js'

/** `GET /__mock/health`: readiness, without auth. */
export const mockHealth: FastifyPluginAsyncTypebox = async (app) => {
  const { clock, startedAt } = app.mock
  app.get('/health', {
    schema: {
      tags: ['Mock control'],
      summary: 'Liveness and readiness',
      response: { 200: Health, '5xx': ErrorEnvelope }
    }
  }, async () => ({
    status: 'ok' as const,
    version: VERSION,
    uptime_s: Math.max(0, Math.floor((clock.now() - startedAt) / 1000))
  }))
}
