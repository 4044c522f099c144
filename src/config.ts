import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { StringEnum } from '../schemas/enums.js'
import { MetadataModeSchema } from '../schemas/bulk.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const

/**
 * Every setting, named as its environment variable; the CLI flag is derived
 * from the name (see {@link flagName}). Defaults, coercion from strings and
 * the accepted values all come from this one schema.
 */
export const ConfigSchema = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000, description: 'TCP port (0 picks a free one).' }),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'Interface to bind; the Docker image uses 0.0.0.0.' }),
  LOG_LEVEL: StringEnum(LOG_LEVELS, { default: 'info', description: 'pino log level.' }),
  MOCK_API_KEYS: Type.String({ default: '', description: 'Comma-separated API keys to accept; empty accepts any non-empty key.' }),
  MOCK_STAGE_MS: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 200, description: 'Milliseconds each job stage lasts.' }),
  MOCK_ROWS_PER_MIN: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000, description: 'Rows per minute while processing (the real service: about 1200); unset: MOCK_STAGE_MS.' })),
  MOCK_CLOCK: StringEnum(['auto', 'manual'] as const, { default: 'auto', description: '`manual`: jobs move only when the control API says so.' }),
  MOCK_METADATA: MetadataModeSchema,
  MOCK_CONCURRENCY: StringEnum(['reject', 'queue'] as const, { default: 'reject', description: 'A bulk request while a job runs: 409, or wait in queued.' }),
  MOCK_QUEUE_LIMIT: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 100, description: 'MOCK_CONCURRENCY=queue: most jobs a key may have waiting behind its running one; beyond, 429 queue_full.' }),
  MOCK_MAX_RECORDS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Most rows in one bulk request.' }),
  MOCK_IMPORT_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 10_000_000, default: 100_000, description: 'Most rows in one POST /v1/imports file; more: 413 too_many_rows.' }),
  MOCK_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 1_073_741_824, default: 52_428_800, description: 'Most bytes in one request body.' }),
  MOCK_PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*)?$', accepts: 'an http:// or https:// base URL such as http://mock:3000', description: 'Base URL for `links`, e.g. http://mock:3000; unset: from each request.' })),
  MOCK_STORE: Type.String({ pattern: '^(memory|rediss?://\\S+)$', accepts: '`memory` or a redis:// URL', default: 'memory', description: '`memory`, or a redis:// URL.' }),
  MOCK_JOB_RETENTION: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000, description: 'Terminal jobs kept per key; the oldest are forgotten first.' }),
  MOCK_JOURNAL_SIZE: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000, description: 'Requests kept in the journal (a ring buffer across keys).' }),
  MOCK_JOURNAL_BODY_BYTES: Type.Integer({ minimum: 0, maximum: 52_428_800, default: 65_536, description: 'Bytes of each request body kept in the journal; longer ones are cut and marked.' }),
  MOCK_EVENT_RETENTION: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 10_000, description: 'Events (identify, company identify, track) kept per key; the oldest are forgotten first.' }),
  MOCK_EXPORT_CHUNK_EVENTS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Events per export file (chunk): the most an export holds in memory at once.' }),
  MOCK_REALTIME_BODY_LIMIT: Type.Integer({ minimum: 1024, maximum: 1_073_741_824, default: 1_048_576, description: 'Most bytes in one identify, company identify or track body.' }),
  MOCK_DELETIONS: StringEnum(['scheduled', 'immediate'] as const, { default: 'scheduled', description: 'DELETE /v1/users and /v1/companies: carried out at the next 02:00 UTC (as documented), or before the 202.' }),
  MOCK_RATE_LIMITS: StringEnum(['off', 'docs'] as const, { default: 'off', description: '`docs`: 429 beyond the documented limits (identify 600/min, track 600/min, one delete per 2 s, per key).' }),
  MOCK_STRICT: StringEnum(['false', 'true'] as const, { default: 'false', description: '`true`: traffic the docs forbid (a missing X-API-Version, unknown fields, nested metadata, track of an unknown user) gets 400 instead of a warning.' }),
  MOCK_ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'When set, control calls need X-Mock-Admin: <token>.' }))
})

/** The parsed configuration. */
export type Config = Static<typeof ConfigSchema>
export type ConfigName = keyof Config

/** The CLI flag of a setting: `MOCK_STAGE_MS` → `--stage-ms`. */
export function flagName (name: ConfigName): string {
  return '--' + name.replace(/^MOCK_/, '').toLowerCase().replace(/_/g, '-')
}

/** Configuration problems, reported as one line naming the setting. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Human wording of what a setting accepts, read from its schema. */
export function acceptedValues (schema: TSchema): string {
  if (Array.isArray(schema.anyOf)) return 'one of ' + (schema.anyOf as TSchema[]).map((option) => String(option.const)).join(', ')
  if (schema.type === 'integer') return `an integer from ${schema.minimum as number} to ${schema.maximum as number}`
  if (schema.accepts !== undefined) return schema.accepts as string
  return 'a non-empty string'
}

const names = Object.keys(ConfigSchema.properties) as ConfigName[]

/**
 * Strings from the environment become integers only when they are written as
 * one: TypeBox's own conversion would read "3.5" as 3 and "true" as 1. A
 * boolean from the library API (`MOCK_STRICT: true`) is its word.
 */
function coerce (schema: TSchema, value: unknown): unknown {
  if (typeof value === 'boolean') return String(value)
  return schema.type === 'integer' && typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : value
}

/**
 * Builds the configuration from raw string values (environment, flags) or
 * typed ones (the library API); empty strings count as unset.
 */
export function parseConfig (raw: Readonly<Record<string, unknown>>): Config {
  const picked: Record<string, unknown> = {}
  for (const name of names) {
    const value = raw[name]
    if (value !== undefined && value !== '') picked[name] = coerce(ConfigSchema.properties[name], value)
  }
  const config = Value.Default(ConfigSchema, picked) as Record<string, unknown>
  const error = Value.Errors(ConfigSchema, config).First()
  if (error !== undefined) {
    const name = error.path.slice(1) as ConfigName
    const shown = JSON.stringify(String(picked[name])).slice(0, 80)
    throw new ConfigError(`invalid ${name} (${flagName(name)}) = ${shown}: expected ${acceptedValues(ConfigSchema.properties[name])}`)
  }
  return config as Config
}

/** Reads CLI flags (`--stage-ms 0`, `--stage-ms=0`) into setting names; flags win over the environment. */
export function configFromSources (env: Readonly<Record<string, string | undefined>>, flags: Readonly<Record<string, string | undefined>>): Config {
  const raw: Record<string, unknown> = {}
  for (const name of names) raw[name] = flags[name] ?? env[name]
  return parseConfig(raw)
}

/** Each setting with its flag, default and description (for --help and the README). */
export function describeSettings (): Array<{ name: ConfigName, flag: string, default: string, description: string }> {
  return names.map((name) => {
    const schema = ConfigSchema.properties[name] as TSchema
    return { name, flag: flagName(name), default: schema.default === undefined ? '(unset)' : String(schema.default), description: schema.description as string }
  })
}
