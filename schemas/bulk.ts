import { Type, type Static, type TBoolean, type TNull, type TNumber, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { StringEnum } from './enums.js'

/**
 * How the validator names the problems of a body (src/http/validation.ts):
 * `rows` for bulk bodies (`{users: [{…}]}`), `ids` for delete bodies
 * (`{users: ["…"]}`), `single` for one object (real-time identify, track).
 */
export const BODY_SHAPE = 'x-body-shape'

/** Which metadata values a bulk request may carry (MOCK_METADATA). */
export const METADATA_MODES = ['primitives', 'strings'] as const
export type MetadataMode = typeof METADATA_MODES[number]
export const MetadataModeSchema = StringEnum(METADATA_MODES, {
  default: 'primitives',
  description: '`primitives`: string, number, boolean or null values; `strings`: only strings and null, as the upstream OpenAPI text says.'
})

/**
 * Metadata keys are 1 to 255 characters: a surrogate pair (an emoji) counts as
 * one, a lone surrogate and a line break as one each. The three alternatives
 * never match the same text, so a long key fails in linear time (with an
 * overlap, each pair could be read two ways: exponential backtracking).
 */
export const METADATA_KEY_PATTERN = '^(?:[\\ud800-\\udbff][\\udc00-\\udfff]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|[^\\ud800-\\udbff]){1,255}$'

/**
 * Most properties in one row's metadata. The docs name no limit; without one a
 * single request could make a profile of millions of keys. A thousand is far
 * above any real profile, and the error says so.
 */
export const MAX_METADATA_KEYS = 1000

/** Any JSON value: real-time calls may nest objects and arrays in metadata (kept as sent, with a warning). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
/** A metadata value: `null` in a request removes the property; bulk rows carry primitives only. */
export type MetadataValue = JsonValue
export type Metadata = Record<string, MetadataValue>

/** The widest value union; `strings` mode narrows it at run time, not in the static type. */
type TMetadataValue = TUnion<[TString, TNumber, TBoolean, TNull]>

const metadataValueSchemas: Record<MetadataMode, TMetadataValue> = {
  primitives: Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()], {
    description: 'A string, number, boolean, or null to remove the property. Arrays and objects are rejected.'
  }),
  strings: Type.Union([Type.String(), Type.Null()], {
    description: 'A string, or null to remove the property (MOCK_METADATA=strings).'
  }) as unknown as TMetadataValue
}

/**
 * Marks a schema whose object and array values are tolerated with a
 * `nested_metadata` warning (src/http/fidelity.ts reads it).
 */
export const NESTED_WARNING = 'x-nested-warning'

/**
 * A metadata value of a real-time call: as in bulk rows, or an object or
 * array, which both public destinations send (traits.company) and which the
 * mock keeps as sent, with a warning (MOCK_STRICT=true refuses it).
 */
export function RealtimeMetadataValueSchema (mode: MetadataMode): TSchema {
  const primitives = metadataValueSchemas[mode]
  return Type.Union([...primitives.anyOf, Type.Object({}), Type.Array(Type.Unknown())], {
    description: `${primitives.description as string} An object or array is kept as sent, with a nested_metadata warning.`.replace(' Arrays and objects are rejected.', ''),
    [NESTED_WARNING]: true
  })
}

/**
 * Metadata object of a row. Keys that break the length rule fall through to
 * `additionalProperties: never`, which reports each bad key on its own path.
 * `nested`: the real-time variant, whose values may be objects or arrays.
 */
export function MetadataSchema (mode: MetadataMode, options: { nested?: boolean } = {}) {
  // The static type stays the bulk one; nested values are JsonValues in the store's types.
  const value = options.nested === true ? RealtimeMetadataValueSchema(mode) as TMetadataValue : metadataValueSchemas[mode]
  return Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), value, {
    additionalProperties: Type.Never({ description: 'Metadata keys are 1 to 255 characters.' }),
    maxProperties: MAX_METADATA_KEYS,
    description: 'Properties to merge into the stored profile; `null` removes a property.'
  })
}

const seedUsers = [
  {
    user_id: 'user_123',
    company_id: 'comp_techstartup_2024',
    metadata: { name: 'John Smith', email: 'john.smith@techstartup.com', job_title: 'Support Manager', tickets_pending: 3 }
  },
  {
    user_id: 'user_456',
    company_id: 'comp_techstartup_2024',
    metadata: { name: 'Emma Davis', email: 'emma.davis@techstartup.com', job_title: 'Support Specialist', tickets_pending: 5 }
  }
]

/** One row of `POST /v1/users/bulk_identify`. */
export function UserRowSchema (mode: MetadataMode) {
  return Type.Object({
    user_id: Type.String({ minLength: 1, description: 'Unique id of the user in this environment.' }),
    company_id: Type.Optional(Type.String({ description: 'The company the user belongs to; a new value moves the user.' })),
    metadata: Type.Optional(MetadataSchema(mode))
  })
}

/** Body of `POST /v1/users/bulk_identify` (JSON variant). */
export function UsersBulkBodySchema (mode: MetadataMode) {
  return Type.Object({
    users: Type.Array(UserRowSchema(mode), { minItems: 1, description: 'Up to MOCK_MAX_RECORDS (10,000) users.' })
  }, { [BODY_SHAPE]: 'rows', examples: [{ users: seedUsers }] })
}

export type UserRow = Static<ReturnType<typeof UserRowSchema>>
export type UsersBulkBody = Static<ReturnType<typeof UsersBulkBodySchema>>

/** One row of `POST /v1/companies/bulk_identify`. */
export function CompanyRowSchema (mode: MetadataMode) {
  return Type.Object({
    company_id: Type.String({ minLength: 1, description: 'Unique id of the company in this environment.' }),
    metadata: Type.Optional(MetadataSchema(mode))
  })
}

/** Body of `POST /v1/companies/bulk_identify` (JSON variant). */
export function CompaniesBulkBodySchema (mode: MetadataMode) {
  return Type.Object({
    companies: Type.Array(CompanyRowSchema(mode), { minItems: 1, description: 'Up to MOCK_MAX_RECORDS (10,000) companies.' })
  }, { [BODY_SHAPE]: 'rows', examples: [{ companies: [{ company_id: 'comp_techstartup_2024', metadata: { name: 'TechStartup', plan: 'growth', seats: 25 } }] }] })
}

export type CompanyRow = Static<ReturnType<typeof CompanyRowSchema>>
export type CompaniesBulkBody = Static<ReturnType<typeof CompaniesBulkBodySchema>>
