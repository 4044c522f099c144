import { Type, type Static, type TBoolean, type TNull, type TNumber, type TString, type TUnion } from '@sinclair/typebox'
import { StringEnum } from './enums.js'

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

/** A stored metadata value: `null` in a request removes the property instead. */
export type MetadataValue = string | number | boolean | null
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
 * Metadata object of a row. Keys that break the length rule fall through to
 * `additionalProperties: never`, which reports each bad key on its own path.
 */
export function MetadataSchema (mode: MetadataMode) {
  return Type.Record(Type.String({ pattern: METADATA_KEY_PATTERN }), metadataValueSchemas[mode], {
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
  }, { examples: [{ users: seedUsers }] })
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
  }, { examples: [{ companies: [{ company_id: 'comp_techstartup_2024', metadata: { name: 'TechStartup', plan: 'growth', seats: 25 } }] }] })
}

export type CompanyRow = Static<ReturnType<typeof CompanyRowSchema>>
export type CompaniesBulkBody = Static<ReturnType<typeof CompaniesBulkBodySchema>>
