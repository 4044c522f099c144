import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { CompanyRow, JsonValue } from '../../schemas/bulk.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import type { EventType } from '../../schemas/events.js'
import { CompanyIdentifyBodySchema, Empty, IdentifyBodySchema, TrackBodySchema, type CompanyIdentifyBody, type IdentifyBody, type TrackBody } from '../../schemas/realtime.js'
import { apiError } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { requireJsonBody } from '../http/body-parser.js'
import { refuseIfStrict, warningsOf } from '../http/fidelity.js'
import { checkProfileCaps } from '../http/profile-caps.js'
import type { Touch } from '../store/store.js'

const TAG = ['Userpilot']
const responses = { 202: Empty, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
const HEADERS = 'Send `Authorization: Token <key>`, `Content-Type: application/json` and `X-API-Version: 2020-09-22`.'

/**
 * The identify's company object as a company row: its id under `id` or
 * `company_id` (the docs name it both ways), every other key a property.
 */
export function companyRowOf (company: NonNullable<IdentifyBody['company']>): CompanyRow {
  const { id, company_id: companyId, ...properties } = company
  const resolved = id ?? companyId
  if (resolved === undefined) {
    throw apiError(400, 'missing_company_id', 'The company object needs the company\'s id, as "id" (or "company_id"): {"company": {"id": "…", "name": "…"}}.', '/company/id')
  }
  return { company_id: resolved, metadata: properties as CompanyRow['metadata'] }
}

/**
 * `POST /v1/identify`, `POST /v1/companies/identify` and `POST /v1/track`:
 * the effect is in the store before the 202, so a test reads it at once, and
 * each call is kept as an event with the export schema's fields.
 */
export const realtime: FastifyPluginAsync = async (app) => {
  const { config, clock, store } = app.mock
  const mode = config.MOCK_METADATA
  const strict = config.MOCK_STRICT === 'true'
  const bodyLimit = config.MOCK_REALTIME_BODY_LIMIT

  /** Keeps the call as an event; real-time calls come from a backend over HTTP. */
  async function keep (request: FastifyRequest, eventType: EventType, fields: { eventName?: string, userId: string | null, companyId: string | null, metadata: Record<string, JsonValue> | undefined, at: number }): Promise<void> {
    await store.events.append({
      tenant: tenantOfRequest(request).id,
      eventType,
      eventName: fields.eventName ?? '',
      userId: fields.userId,
      companyId: fields.companyId,
      metadata: fields.metadata ?? {},
      source: 'backend-http',
      insertedAt: fields.at,
      requestId: request.id
    })
  }

  function touchOf (request: FastifyRequest): Touch {
    return { kind: 'request', id: request.id }
  }

  app.post('/identify', {
    bodyLimit,
    config: { apiVersion: true, rateLimit: 'identify' },
    preValidation: requireJsonBody,
    schema: {
      tags: TAG,
      summary: 'Identify a user',
      description: `Creates or updates one user at once: metadata is merged (\`null\` removes a property); a \`company\` object (\`id\` or \`company_id\`, and its properties) is upserted and the user moves into it. ${HEADERS}`,
      body: IdentifyBodySchema(mode),
      response: responses
    }
  }, async (request, reply) => {
    const body = request.body as IdentifyBody
    const company = body.company === undefined ? undefined : companyRowOf(body.company)
    const at = clock.now()
    const user = { user_id: body.user_id, company_id: company?.company_id, metadata: body.metadata as CompanyRow['metadata'] }
    const tenant = tenantOfRequest(request).id
    await checkProfileCaps(store.profiles, tenant, 'users', [user], () => '/metadata')
    if (company !== undefined) await checkProfileCaps(store.profiles, tenant, 'companies', [company], () => '/company')
    const companyId = await store.profiles.identify(tenant, { user, company }, touchOf(request), at)
    await keep(request, 'identify_user', { userId: body.user_id, companyId, metadata: body.metadata, at })
    return reply.code(202).send({})
  })

  app.post('/companies/identify', {
    bodyLimit,
    config: { rateLimit: 'identify' },
    preValidation: requireJsonBody,
    schema: {
      tags: TAG,
      summary: 'Identify a company',
      description: 'Creates or updates one company at once: metadata is merged (`null` removes a property). Counts against the identify rate limit.',
      body: CompanyIdentifyBodySchema(mode),
      response: responses
    }
  }, async (request, reply) => {
    const body = request.body as CompanyIdentifyBody
    const at = clock.now()
    const company = { company_id: body.company_id, metadata: body.metadata as CompanyRow['metadata'] }
    const tenant = tenantOfRequest(request).id
    await checkProfileCaps(store.profiles, tenant, 'companies', [company], () => '/metadata')
    await store.profiles.identify(tenant, { company }, touchOf(request), at)
    await keep(request, 'identify_company', { userId: null, companyId: body.company_id, metadata: body.metadata, at })
    return reply.code(202).send({})
  })

  app.post('/track', {
    bodyLimit,
    config: { apiVersion: true, rateLimit: 'track' },
    preValidation: requireJsonBody,
    schema: {
      tags: TAG,
      summary: 'Track an event',
      description: `Records an event of a user. The docs say the user must already be identified: an unknown user still gets 202, with an \`unknown_user\` warning in the journal (400 under MOCK_STRICT=true). ${HEADERS}`,
      body: TrackBodySchema(mode),
      response: responses
    }
  }, async (request, reply) => {
    const body = request.body as TrackBody
    const user = await store.profiles.getUser(tenantOfRequest(request).id, body.user_id)
    if (user === undefined) {
      warningsOf(request).add({ code: 'unknown_user', message: 'No user with this user_id has been identified for this API key; Userpilot\'s docs say a tracked user must be identified first. The event is kept.', path: '/user_id' })
      refuseIfStrict(request, strict)
    }
    await keep(request, 'track', { eventName: body.event_name, userId: body.user_id, companyId: user?.companyId ?? null, metadata: body.metadata, at: clock.now() })
    return reply.code(202).send({})
  })
}
