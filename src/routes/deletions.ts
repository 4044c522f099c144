import type { FastifyPluginAsync } from 'fastify'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { DeleteAccepted, DeleteBodySchema } from '../../schemas/realtime.js'
import { apiError } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { requireJsonBody } from '../http/body-parser.js'
import { iso } from '../jobs/jobs.js'
import { nextDeletionRun } from '../realtime/deletions.js'
import type { ProfileKind } from '../store/store.js'

const NOUNS: Readonly<Record<ProfileKind, [string, string]>> = { users: ['user', 'users'], companies: ['company', 'companies'] }

/**
 * `DELETE /v1/users` and `DELETE /v1/companies`: the profiles are marked with
 * their `deletion_scheduled_at` and forgotten at the next 02:00 UTC of the
 * mock's clock (as documented), or at once with MOCK_DELETIONS=immediate.
 */
export const deletions: FastifyPluginAsync = async (app) => {
  const { config, clock, store, deletions: scheduler } = app.mock
  const maxRecords = config.MOCK_MAX_RECORDS
  const immediate = config.MOCK_DELETIONS === 'immediate'

  for (const collection of ['users', 'companies'] as const) {
    const [noun, plural] = NOUNS[collection]
    app.delete(`/${collection}`, {
      config: { apiVersion: true, rateLimit: 'delete' },
      preValidation: [requireJsonBody, async (request) => {
        const ids = (request.body as Record<string, unknown>)[collection]
        if (Array.isArray(ids) && ids.length > maxRecords) {
          throw apiError(413, 'too_many_records', `A delete request carries at most ${maxRecords} ${noun} ids; this one has ${ids.length}. Split them into several requests (one every 2 seconds).`, `/${collection} holds ${ids.length} items`)
        }
      }],
      schema: {
        tags: ['Userpilot'],
        summary: `Delete ${plural}`,
        description: `Schedules the ${plural} for deletion: Userpilot carries deletions out daily at 02:00 UTC, and so does the mock, on its clock (\`POST /__mock/clock/flush\` runs them now; MOCK_DELETIONS=immediate deletes before the 202). Ids that do not exist are counted and ignored.${collection === 'companies' ? ' A deleted company leaves its users without a company.' : ''} At most one delete request every 2 seconds.`,
        body: DeleteBodySchema(collection, maxRecords),
        response: { 202: DeleteAccepted, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
      }
    }, async (request, reply) => {
      const tenant = tenantOfRequest(request).id
      const ids = [...new Set((request.body as Record<ProfileKind, string[]>)[collection])]
      const count = `${ids.length} ${ids.length === 1 ? noun : plural}`
      const now = clock.now()
      if (immediate) {
        await store.profiles.scheduleDeletions(tenant, collection, ids, now)
        await store.profiles.runDeletions(tenant, now)
        return reply.code(202).send({ message: `${count} deleted (MOCK_DELETIONS=immediate).` })
      }
      const due = nextDeletionRun(now)
      if (await store.profiles.scheduleDeletions(tenant, collection, ids, due) > 0) scheduler.scheduled(due)
      return reply.code(202).send({ message: `${count} scheduled for deletion at ${iso(due)} (deletions run daily at 02:00 UTC).` })
    })
  }
}
