import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { BODY_SHAPE, MAX_METADATA_KEYS, MetadataSchema, RealtimeMetadataValueSchema, type JsonValue, type MetadataMode } from './bulk.js'

/** The `X-API-Version` value Userpilot's docs require on identify, track and delete. */
export const API_VERSION = '2020-09-22'

/**
 * The company object inside an identify: its id under `id` (the guide) or
 * `company_id` (the OpenAPI file); every other key is a company property.
 */
export function CompanyObjectSchema (mode: MetadataMode) {
  return Type.Object({
    id: Type.Optional(Type.String({ minLength: 1, description: 'The company id, as the guide names it.' })),
    company_id: Type.Optional(Type.String({ minLength: 1, description: 'The company id, as the OpenAPI file names it.' }))
  }, {
    additionalProperties: RealtimeMetadataValueSchema(mode),
    maxProperties: MAX_METADATA_KEYS,
    description: 'The company the user belongs to: `id` or `company_id` (one is required), and the company\'s properties. The user moves into it.'
  })
}

/** Body of `POST /v1/identify`. */
export function IdentifyBodySchema (mode: MetadataMode) {
  return Type.Object({
    user_id: Type.String({ minLength: 1, description: 'Unique id of the user in this environment.' }),
    metadata: Type.Optional(MetadataSchema(mode, { nested: true })),
    company: Type.Optional(CompanyObjectSchema(mode))
  }, {
    [BODY_SHAPE]: 'single',
    examples: [{ user_id: 'user_123', metadata: { name: 'John Smith', plan: 'pro' }, company: { id: 'comp_techstartup_2024', name: 'TechStartup' } }]
  })
}

/** Body of `POST /v1/companies/identify`. */
export function CompanyIdentifyBodySchema (mode: MetadataMode) {
  return Type.Object({
    company_id: Type.String({ minLength: 1, description: 'Unique id of the company in this environment.' }),
    metadata: Type.Optional(MetadataSchema(mode, { nested: true }))
  }, {
    [BODY_SHAPE]: 'single',
    examples: [{ company_id: 'comp_techstartup_2024', metadata: { name: 'TechStartup', plan: 'growth' } }]
  })
}

/** Body of `POST /v1/track`. */
export function TrackBodySchema (mode: MetadataMode) {
  return Type.Object({
    user_id: Type.String({ minLength: 1, description: 'The user who did it; the docs say the user must already be identified.' }),
    event_name: Type.String({ minLength: 1, description: 'The event\'s name, e.g. `Subscription Renewed`.' }),
    metadata: Type.Optional(MetadataSchema(mode, { nested: true }))
  }, {
    [BODY_SHAPE]: 'single',
    examples: [{ user_id: 'user_123', event_name: 'Subscription Renewed', metadata: { plan: 'pro', seats: 3 } }]
  })
}

/** Body of `DELETE /v1/users` or `DELETE /v1/companies`: the ids to delete. */
export function DeleteBodySchema (collection: 'users' | 'companies', maxRecords: number): TSchema {
  const noun = collection === 'users' ? 'user' : 'company'
  return Type.Object({
    [collection]: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: `Up to MOCK_MAX_RECORDS (${maxRecords}) ${noun} ids; duplicates count once, unknown ids are counted and ignored.` })
  }, {
    [BODY_SHAPE]: 'ids',
    examples: [{ [collection]: [`${noun}_123`, `${noun}_456`] }]
  })
}

/** The 202 (and `GET /v1/validate`'s 200) body: nothing more to say. */
export const Empty = Type.Object({}, { title: 'Empty', additionalProperties: false })

/** The 202 of a delete: how many were scheduled (or deleted, with MOCK_DELETIONS=immediate). */
export const DeleteAccepted = Type.Object({
  message: Type.String({ description: 'How many profiles were scheduled for deletion, and when that runs.' })
}, {
  title: 'DeleteAccepted',
  additionalProperties: false,
  examples: [{ message: '2 users scheduled for deletion at 2025-05-20T02:00:00.000Z (deletions run daily at 02:00 UTC).' }]
})

/** The real-time bodies as the handlers read them (metadata may nest, as tolerated). */
export interface IdentifyBody {
  user_id: string
  metadata?: Record<string, JsonValue>
  company?: { id?: string, company_id?: string, [property: string]: JsonValue | undefined }
}
export interface CompanyIdentifyBody { company_id: string, metadata?: Record<string, JsonValue> }
export interface TrackBody { user_id: string, event_name: string, metadata?: Record<string, JsonValue> }

export type DeleteAccepted = Static<typeof DeleteAccepted>
