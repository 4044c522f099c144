import fc from 'fast-check'
import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { MetadataMode } from '../../schemas/bulk.js'
import { API_VERSION } from '../../schemas/realtime.js'
import { auth, bulkUsers } from '../helpers/app.js'
import { bulkCompanies, control, uploadNdjson } from '../helpers/http.js'

// fast-check arbitraries for bulk identify and real-time bodies, and the run settings of the property tests.

/** A JSON metadata value as sent (numbers are finite: JSON has no NaN or Infinity). */
export type WireValue = string | number | boolean | null
export type WireMetadata = Record<string, WireValue>
export interface WireUser { user_id: string, company_id?: string, metadata?: WireMetadata }
export interface WireCompany { company_id: string, metadata?: WireMetadata }
export type Collection = 'users' | 'companies'

/** A real-time metadata value: as in bulk rows, or an object or array (kept as sent). */
export type RealtimeValue = WireValue | RealtimeValue[] | { [key: string]: RealtimeValue }
export type RealtimeMetadata = Record<string, RealtimeValue>
/** `POST /v1/identify`: the company object holds its id as `id` or `company_id`, beside its properties. */
export interface IdentifyBody { user_id: string, metadata?: RealtimeMetadata, company?: RealtimeMetadata }
export interface CompanyIdentifyBody { company_id: string, metadata?: RealtimeMetadata }
export interface TrackBody { user_id: string, event_name: string, metadata?: RealtimeMetadata }

/**
 * Runs per property: `FC_NUM_RUNS` overrides the default (CI may raise it);
 * `FC_SEED` (with `FC_PATH` for the shrunk case) replays a failure that fast-check reported
 * (a model-based one also needs `FC_REPLAY_PATH`: {@link commandSettings}).
 */
export function runSettings (defaultRuns: number): fc.Parameters<unknown> {
  const runs = Number(process.env.FC_NUM_RUNS ?? '')
  const seed = Number(process.env.FC_SEED ?? '')
  const path = process.env.FC_PATH
  return {
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns,
    // verbose: the counterexample, the seed and the path are in the error message tap prints.
    verbose: 1,
    ...(process.env.FC_SEED !== undefined && Number.isInteger(seed) ? { seed } : {}),
    ...(path !== undefined && path !== '' ? { path } : {})
  }
}

/**
 * Settings of a model-based test's `fc.commands`: a command sequence replays
 * only with the `replayPath` its counterexample prints (`FC_REPLAY_PATH`),
 * beside `FC_SEED` and `FC_PATH`, since its shrinking depends on which commands ran.
 */
export function commandSettings (maxCommands: number): fc.CommandsContraints {
  const replayPath = process.env.FC_REPLAY_PATH
  return { maxCommands, size: 'medium', ...(replayPath !== undefined && replayPath !== '' ? { replayPath } : {}) }
}

/** Scales a run count by the same factor as FC_NUM_RUNS scales `base` (for the costlier properties). */
export function scaledRuns (base: number, share: number): number {
  return Math.max(1, Math.round((runSettings(base).numRuns as number) * share))
}

/** Throws with TypeBox's list of mismatches (the check `assertSchema` makes, usable inside a property). */
export function mustMatch (schema: TSchema, value: unknown, what: string): void {
  const errors = [...Value.Errors(schema, value)].map((error) => `${error.path}: ${error.message}`)
  if (errors.length > 0) throw new Error(`${what} does not match its schema: ${errors.join('; ')}\n${JSON.stringify(value).slice(0, 500)}`)
}

/** Ids and keys that stress the store: prototype names, unicode, separators, JSON-pointer characters. */
const AWKWARD = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'ü-😀-日本', 'a/b~c', 'bulk:jobs:x', ' ', 'é', 'e\u0301', '\u0000', '\ud800', '0', '1']

/** Any id: awkward ones, graphemes, any UTF-16 (lone surrogates included), up to 64 code units. */
export const anyId: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(...AWKWARD) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 64 }) }
)

/** Ids from a small pool, so that rows collide: duplicates within a request, updates across requests, company moves. */
export function pooledId (prefix: string, size = 4): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: size }).map((n) => `${prefix}${n}`) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'ü-😀-日本', 'a/b~c', '\ud800') }
  )
}

/** A metadata key accepted under SPEC 1.2: 1 to 255 characters (code points), line breaks and emoji included. */
export const metadataKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('plan', 'seats', 'name', 'trial', 'note') },
  { weight: 2, arbitrary: fc.constantFrom(...AWKWARD) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 250, maxLength: 255 }) },
  { weight: 1, arbitrary: fc.constantFrom('k'.repeat(255), '😀'.repeat(254) + 'k', 'line\nbreak', 'para\u2029graph') }
).filter((key) => [...key].length >= 1 && [...key].length <= 255)

/** A finite JSON number: integers, doubles, and the edges. */
const jsonNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -1, 1e21, 1e-7, Number.MAX_SAFE_INTEGER, Number.MAX_VALUE)
)

const anyString = fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('', 'null', '0', 'true'))

/** A metadata value the mode accepts; `null` (remove) often, so removals meet stored properties. */
export function metadataValue (mode: MetadataMode): fc.Arbitrary<WireValue> {
  return mode === 'strings'
    ? fc.oneof({ weight: 3, arbitrary: anyString }, { weight: 1, arbitrary: fc.constant(null) })
    : fc.oneof(
      { weight: 3, arbitrary: anyString },
      { weight: 2, arbitrary: jsonNumber },
      { weight: 1, arbitrary: fc.boolean() },
      { weight: 2, arbitrary: fc.constant(null) }
    )
}

/**
 * A metadata object. Built with Object.fromEntries so that `__proto__` is an
 * ordinary own key, serialized like any other (as JSON.parse reads it back).
 */
export function metadata (mode: MetadataMode, maxKeys = 5): fc.Arbitrary<WireMetadata> {
  return fc.array(fc.tuple(metadataKey, metadataValue(mode)), { maxLength: maxKeys })
    .map((entries) => Object.fromEntries(entries) as WireMetadata)
}

/** An object or array inside real-time metadata (prototype names among its keys too). */
const nestedValue: fc.Arbitrary<RealtimeValue> = fc.oneof(
  fc.array(fc.tuple(fc.constantFrom('a', 'plan', '__proto__', 'ü'), fc.jsonValue({ maxDepth: 1 })), { maxLength: 3 })
    .map((entries) => Object.fromEntries(entries) as RealtimeValue),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }) as fc.Arbitrary<RealtimeValue>
)

/** Real-time metadata: as in bulk rows, now and then a nested value. */
export function realtimeMetadata (mode: MetadataMode, maxKeys = 4): fc.Arbitrary<RealtimeMetadata> {
  const value = fc.oneof({ weight: 6, arbitrary: metadataValue(mode) as fc.Arbitrary<RealtimeValue> }, { weight: 1, arbitrary: nestedValue })
  return fc.array(fc.tuple(metadataKey, value), { maxLength: maxKeys })
    .map((entries) => Object.fromEntries(entries) as RealtimeMetadata)
}

/** Options of the row arbitraries. */
export interface RowOptions {
  mode: MetadataMode
  /** Where ids come from; default {@link anyId}. */
  userId?: fc.Arbitrary<string>
  companyId?: fc.Arbitrary<string>
}

/** A valid user row: company_id and metadata each present or absent. */
export function userRow (options: RowOptions): fc.Arbitrary<WireUser> {
  // company_id has no minLength in the contract: "" is a company id like any other.
  return fc.record({
    user_id: options.userId ?? anyId,
    company_id: fc.oneof(options.companyId ?? anyId, fc.constant('')),
    metadata: metadata(options.mode)
  }, { requiredKeys: ['user_id'] })
}

/** A valid company row. */
export function companyRow (options: RowOptions): fc.Arbitrary<WireCompany> {
  return fc.record({
    company_id: options.companyId ?? anyId,
    metadata: metadata(options.mode)
  }, { requiredKeys: ['company_id'] })
}

/** Rows of either endpoint. */
export function rows (collection: Collection, options: RowOptions, size: { minLength?: number, maxLength: number }): fc.Arbitrary<Array<WireUser | WireCompany>> {
  const row: fc.Arbitrary<WireUser | WireCompany> = collection === 'users' ? userRow(options) : companyRow(options)
  return fc.array(row, { minLength: size.minLength ?? 1, maxLength: size.maxLength })
}

/** The identify's company object: its id as `id` or as `company_id`, and its properties. */
export function companyObject (mode: MetadataMode, companyId: fc.Arbitrary<string>): fc.Arbitrary<RealtimeMetadata> {
  return fc.tuple(fc.constantFrom('id', 'company_id'), companyId, realtimeMetadata(mode))
    .map(([name, id, properties]) => ({
      ...Object.fromEntries(Object.entries(properties).filter(([key]) => key !== 'id' && key !== 'company_id')),
      [name]: id
    }))
}

/** A `POST /v1/identify` body: metadata and company each present or absent. */
export function identifyBody (options: Required<RowOptions>): fc.Arbitrary<IdentifyBody> {
  return fc.record({
    user_id: options.userId,
    metadata: realtimeMetadata(options.mode),
    company: companyObject(options.mode, options.companyId)
  }, { requiredKeys: ['user_id'] })
}

/** A `POST /v1/companies/identify` body. */
export function companyIdentifyBody (options: Required<Omit<RowOptions, 'userId'>>): fc.Arbitrary<CompanyIdentifyBody> {
  return fc.record({ company_id: options.companyId, metadata: realtimeMetadata(options.mode) }, { requiredKeys: ['company_id'] })
}

/** A `POST /v1/track` body. */
export function trackBody (options: Required<Omit<RowOptions, 'companyId'>>): fc.Arbitrary<TrackBody> {
  return fc.record({
    user_id: options.userId,
    event_name: fc.oneof(fc.constantFrom('Subscription Renewed', 'clicked', 'ü-😀-日本', 'a/b~c'), fc.string({ minLength: 1, maxLength: 12 })),
    metadata: realtimeMetadata(options.mode)
  }, { requiredKeys: ['user_id', 'event_name'] })
}

export const metadataMode: fc.Arbitrary<MetadataMode> = fc.constantFrom('primitives', 'strings')
export const collection: fc.Arbitrary<Collection> = fc.constantFrom('users', 'companies')

// --- Harness shared by the property tests: sending bodies and reading the store back ---

/** How a body travels: a JSON body, or the same rows as an uploaded NDJSON file. */
export type Transport = 'json' | 'ndjson'
export const transport: fc.Arbitrary<Transport> = fc.constantFrom('json', 'ndjson')

/** What was sent: the answer, and the bytes and file name the 202 must report. */
export interface Sent { res: LightMyRequestResponse, fileSize: number, filename: string | undefined }

/** POSTs rows to a bulk endpoint with the key, as JSON or as an NDJSON upload. */
export async function sendRows (app: FastifyInstance, key: string, into: Collection, body: ReadonlyArray<WireUser | WireCompany>, how: Transport = 'json', headers: Record<string, string> = {}): Promise<Sent> {
  if (how === 'json') {
    const payload = JSON.stringify({ [into]: body })
    const send = into === 'users' ? bulkUsers : bulkCompanies
    return { res: await send(app, payload, { ...auth(key), ...headers }), fileSize: Buffer.byteLength(payload), filename: undefined }
  }
  const file = body.map((row) => JSON.stringify(row)).join('\n') + '\n'
  const filename = `${into}.ndjson`
  return { res: await uploadNdjson(app, into, file, filename, { ...auth(key), ...headers }), fileSize: Buffer.byteLength(file), filename }
}

/** The headers a real client sends to the real-time endpoints, with the request id the test chose. */
export function realtimeHeaders (key: string, requestId: string): Record<string, string> {
  return { ...auth(key), 'content-type': 'application/json', 'x-api-version': API_VERSION, 'x-request-id': requestId }
}

/** A real-time call (identify, company identify, track, delete) with a JSON body. */
export async function sendRealtime (app: FastifyInstance, key: string, method: 'POST' | 'DELETE', url: string, body: unknown, requestId: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method, url, headers: realtimeHeaders(key, requestId), payload: JSON.stringify(body) })
}

/** Every item of a control list (`/users`, `/companies`, `/jobs`), read page by page as a client would. */
export async function readAll (app: FastifyInstance, key: string, list: 'users' | 'companies' | 'jobs', limit = 50): Promise<unknown[]> {
  const items: unknown[] = []
  for (let offset = 0; ; offset += limit) {
    const res = await control(app, 'GET', `/${list}?limit=${limit}&offset=${offset}`, { key })
    if (res.statusCode !== 200) throw new Error(`GET /__mock/${list}: ${res.statusCode} ${res.body}`)
    const page = res.json() as unknown[]
    items.push(...page)
    if (page.length < limit) return items
  }
}

/** The value as it comes back through JSON (-0 becomes 0, undefined fields vanish), for exact comparisons. */
export function wire<T> (value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}
