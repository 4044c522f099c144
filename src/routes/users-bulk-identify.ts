import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UsersBulkBodySchema, type UsersBulkBody } from '../../schemas/bulk.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { apiError } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { baseUrl } from '../http/base-url.js'
import { createJobRecord, toJobAccepted } from '../jobs/jobs.js'

/** `POST /v1/users/bulk_identify`: validates, records a job with the rows, answers 202. */
export const usersBulkIdentify: FastifyPluginAsyncTypebox = async (app) => {
  const { config, clock, runner } = app.mock
  const maxRecords = config.MOCK_MAX_RECORDS

  app.post('/users/bulk_identify', {
    schema: {
      tags: ['Userpilot'],
      summary: 'Users - Bulk Identify and Update',
      description: 'Creates or updates up to 10,000 users as one background job. Metadata is merged into stored profiles; `null` removes a property.',
      body: UsersBulkBodySchema(config.MOCK_METADATA),
      response: { 202: JobAccepted, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    },
    // The record count is checked before the row-by-row validation, so that an
    // oversized request gets one 413 rather than a hundred 400 entries (SPEC 1.2).
    preValidation: async (request) => {
      const users = (request.body as Partial<UsersBulkBody> | null)?.users
      if (Array.isArray(users) && users.length > maxRecords) {
        throw apiError(413, 'too_many_records',
          `A bulk request carries at most ${maxRecords} users; this one has ${users.length}. Split them into several requests.`,
          `/users holds ${users.length} items`)
      }
    }
  }, async (request, reply) => {
    const tenant = tenantOfRequest(request)
    const rows = request.body.users
    const job = createJobRecord({ tenant, type: 'users', totalRows: rows.length, fileSize: request.bodyBytes, now: clock.now() })
    await runner.submit(job, rows)
    return reply.code(202).send(toJobAccepted(job, baseUrl(request, config.MOCK_PUBLIC_URL)))
  })
}
