import t from 'tap'
import fc from 'fast-check'
import { deepStrictEqual, equal, ok } from 'node:assert/strict'
import type { LightMyRequestResponse } from 'fastify'
import type { MetadataMode } from '../../schemas/bulk.js'
import { ErrorEnvelope, type ErrorEntry } from '../../schemas/errors.js'
import { assertSchema, auth, testApp, type TestApp } from '../helpers/app.js'
import { uploadNdjson } from '../helpers/http.js'
import {
  anyId, collection, metadataMode, mustMatch, readAll, rows, runSettings,
  type Collection, type WireCompany, type WireUser
} from './arbitraries.js'

// Property: a valid body spoiled in one place (SPEC 1.2's list of structural errors,
// malformed JSON, too many records) always gets a 4xx in the errors[] envelope naming
// the place, and leaves nothing behind: no job, no user, no company.

const KEY = 'property-invalid-bodies'
const RUNS = runSettings(100)
/** A small MOCK_MAX_RECORDS, so that "too many rows" stays cheap. */
const MAX_RECORDS = 5
const ID_FIELD: Record<Collection, 'user_id' | 'company_id'> = { users: 'user_id', companies: 'company_id' }

/** What the answer must be: a status, and (when the SPEC fixes them) the entry's code and JSON path. */
interface Expected {
  status: 400 | 413
  code?: string
  /** The JSON path in `details`, or its start when the key in it may be shortened. */
  details?: string
  detailsPrefix?: string
}

/** One spoiled request: how to send it, what it must get, and where the mock must run. */
interface Case {
  label: string
  mode: MetadataMode
  into: Collection
  payload: string | Buffer
  /** Row-level spoils can travel as an NDJSON upload too (its own `details` form: only the status is fixed). */
  ndjson: boolean
  expected: Expected
  maxRecords?: number
}

type Body = Record<string, unknown>

/** A JSON pointer segment (RFC 6901). */
function pointer (segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1')
}

// Values of every JSON type but the one a field needs.
const notString = fc.constantFrom<unknown>(0, 1.5, -1, true, false, null, [], ['x'], {}, { a: 'b' })
const notObject = fc.constantFrom<unknown>('x', '', 0, 2, true, false, null, [], [{ a: 1 }])
const notArray = fc.constantFrom<unknown>('x', '', 0, true, null, {}, { 0: { user_id: 'u' } })
const notBody = fc.constantFrom<unknown>([], [{ user_id: 'u' }], 'users', '', 0, 1.5, true, false, null)
/** Metadata values no mode accepts (arrays, objects), and in strings mode numbers and booleans too. */
function badValue (mode: MetadataMode): fc.Arbitrary<unknown> {
  const always = fc.constantFrom<unknown>([], ['a'], [1, 2], {}, { nested: 1 }, [null])
  return mode === 'strings' ? fc.oneof(always, fc.constantFrom<unknown>(0, 1, -2.5, 1e21, true, false)) : always
}
/** Keys SPEC 1.2 refuses: empty, or over 255 characters. */
const badKey = fc.oneof(fc.constant(''), fc.string({ minLength: 256, maxLength: 400 }), fc.constant('k'.repeat(256)))

/** A valid body's rows to spoil, with a row index inside them. */
function base (mode: MetadataMode, into: Collection, maxLength = 6): fc.Arbitrary<{ rows: Array<WireUser | WireCompany>, at: number }> {
  return rows(into, { mode }, { maxLength }).chain((list) => fc.record({ rows: fc.constant(list), at: fc.nat({ max: list.length - 1 }) }))
}

function jsonCase (label: string, mode: MetadataMode, into: Collection, body: unknown, expected: Expected, ndjson = false): Case {
  return { label, mode, into, payload: JSON.stringify(body), ndjson, expected }
}

/** Every way to spoil a body, for one mode and endpoint. */
function spoiled (mode: MetadataMode, into: Collection): fc.Arbitrary<Case> {
  const id = ID_FIELD[into]
  const row = (at: number): string => `/${into}/${at}`
  const withRow = (list: Array<WireUser | WireCompany>, at: number, change: (row: Body) => unknown): Body => {
    const copy = list.map((each) => ({ ...each })) as unknown[]
    copy[at] = change(copy[at] as Body)
    return { [into]: copy }
  }
  const fields = into === 'users' ? ['user_id', 'company_id'] as const : ['company_id'] as const
  return fc.oneof(
    // A field of the wrong type.
    fc.tuple(base(mode, into), fc.constantFrom(...fields), notString, fc.boolean()).map(([{ rows: list, at }, field, value, ndjson]) =>
      jsonCase(`${field} of the wrong type`, mode, into, withRow(list, at, (each) => ({ ...each, [field]: value })), { status: 400, details: `${row(at)}/${field}` }, ndjson)),
    fc.tuple(base(mode, into), notObject, fc.boolean()).map(([{ rows: list, at }, value, ndjson]) =>
      jsonCase('metadata not an object', mode, into, withRow(list, at, (each) => ({ ...each, metadata: value })), { status: 400, details: `${row(at)}/metadata` }, ndjson)),
    fc.tuple(base(mode, into), notObject, fc.boolean()).map(([{ rows: list, at }, value, ndjson]) =>
      jsonCase('a row that is not an object', mode, into, withRow(list, at, () => value), { status: 400, details: row(at) }, ndjson)),
    // The id missing or empty.
    fc.tuple(base(mode, into), fc.boolean()).map(([{ rows: list, at }, ndjson]) =>
      jsonCase(`no ${id}`, mode, into, withRow(list, at, ({ [id]: _gone, ...rest }) => rest), { status: 400, code: `missing_${id}`, details: `${row(at)}/${id}` }, ndjson)),
    fc.tuple(base(mode, into), fc.boolean()).map(([{ rows: list, at }, ndjson]) =>
      jsonCase(`empty ${id}`, mode, into, withRow(list, at, (each) => ({ ...each, [id]: '' })), { status: 400, details: `${row(at)}/${id}` }, ndjson)),
    // Metadata: a value the mode refuses, a key of a refused length.
    fc.tuple(base(mode, into), fc.constantFrom('bad', 'plan', 'a/b~c', 'ü'), badValue(mode), fc.boolean()).map(([{ rows: list, at }, key, value, ndjson]) =>
      jsonCase('a refused metadata value', mode, into, withRow(list, at, (each) => ({ ...each, metadata: { ...(each.metadata as Body), [key]: value } })),
        { status: 400, code: 'invalid_metadata_value', details: `${row(at)}/metadata/${pointer(key)}` }, ndjson)),
    fc.tuple(base(mode, into), badKey, fc.boolean()).map(([{ rows: list, at }, key, ndjson]) =>
      jsonCase('a metadata key of a refused length', mode, into, withRow(list, at, (each) => ({ ...each, metadata: { ...(each.metadata as Body), [key]: 'v' } })),
        { status: 400, detailsPrefix: `${row(at)}/metadata/` }, ndjson)),
    // The collection: missing, not an array, empty; the body not an object.
    fc.tuple(base(mode, into), fc.constantFrom<Collection | 'data'>('users', 'companies', 'data')).filter(([, other]) => other !== into).map(([{ rows: list }, other]) =>
      jsonCase(`rows under "${other}"`, mode, into, { [other]: list }, { status: 400, code: `missing_${into}`, details: `/${into}` })),
    notArray.map((value) => jsonCase(`"${into}" not an array`, mode, into, { [into]: value }, { status: 400, details: `/${into}` })),
    fc.constant(jsonCase(`"${into}" empty`, mode, into, { [into]: [] }, { status: 400, details: `/${into}` })),
    notBody.map((value) => jsonCase('a body that is not an object', mode, into, value, { status: 400, details: 'body' })),
    // Not JSON at all: cut valid JSON, or random bytes that do not parse.
    fc.tuple(base(mode, into), fc.double({ min: 0, max: 1, noNaN: true })).map(([{ rows: list }, where]) => {
      const text = JSON.stringify({ [into]: list })
      return { label: 'cut JSON', mode, into, payload: text.slice(0, Math.floor(where * (text.length - 1))), ndjson: false, expected: { status: 400 } } satisfies Case
    }),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((bytes) => !parses(Buffer.from(bytes))).map((bytes) =>
      ({ label: 'bytes that are not JSON', mode, into, payload: Buffer.from(bytes), ndjson: false, expected: { status: 400, code: 'malformed_json' } }) satisfies Case),
    // More rows than MOCK_MAX_RECORDS, valid or not: 413 before any row is looked at.
    fc.tuple(rows(into, { mode, userId: anyId }, { minLength: MAX_RECORDS + 1, maxLength: 3 * MAX_RECORDS }), fc.boolean()).map(([list, spoil]) => {
      const body = spoil ? list.map((each, i) => i === 0 ? { ...each, [id]: 42 } : each) : list
      return { ...jsonCase('too many rows', mode, into, { [into]: body }, { status: 413, code: 'too_many_records', details: `/${into} holds ${list.length} items` }), maxRecords: MAX_RECORDS } satisfies Case
    })
  )
}

function parses (bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'))
    return true
  } catch {
    return false
  }
}

/** The same spoiled rows as an NDJSON upload: one line per row. */
function asNdjson (payload: string | Buffer, into: Collection): string {
  const list = (JSON.parse(payload.toString()) as Record<string, unknown[]>)[into] as unknown[]
  return list.map((each) => JSON.stringify(each)).join('\n') + '\n'
}

const cases = fc.tuple(metadataMode, collection).chain(([mode, into]) => spoiled(mode, into))

function checkAnswer (res: LightMyRequestResponse, expected: Expected, upload: boolean): ErrorEntry[] {
  equal(res.statusCode, expected.status, res.body.slice(0, 300))
  const body: unknown = res.json()
  mustMatch(ErrorEnvelope, body, 'the error body')
  const { errors } = body as ErrorEnvelope
  equal(errors.length, 1, 'one problem, one entry')
  const [entry] = errors as [ErrorEntry]
  equal(entry.error, expected.status === 413 ? 'payload_too_large' : 'invalid_request')
  if (upload) return errors
  if (expected.code !== undefined) equal(entry.error_code, expected.code)
  if (expected.details !== undefined) equal(entry.details, expected.details)
  if (expected.detailsPrefix !== undefined) ok(entry.details.startsWith(expected.detailsPrefix), `${entry.details} starts with ${expected.detailsPrefix}`)
  return errors
}

t.test('random invalid bodies: 4xx in the envelope, naming the problem; nothing stored, no job', async (t) => {
  const apps = new Map<string, Promise<TestApp>>()
  const appFor = async (mode: MetadataMode, maxRecords: number): Promise<TestApp> => {
    const name = `${mode}/${maxRecords}`
    let app = apps.get(name)
    if (app === undefined) {
      app = testApp(t, { MOCK_CLOCK: 'manual', MOCK_METADATA: mode, MOCK_MAX_RECORDS: maxRecords })
      apps.set(name, app)
    }
    return await app
  }
  const labels = new Map<string, number>()
  let sample: ErrorEntry[] = []
  await fc.assert(fc.asyncProperty(cases, async (spoilt) => {
    const { app } = await appFor(spoilt.mode, spoilt.maxRecords ?? 10_000)
    const upload = spoilt.ndjson
    const res = upload
      ? await uploadNdjson(app, spoilt.into, asNdjson(spoilt.payload, spoilt.into), 'rows.ndjson', auth(KEY))
      : await app.inject({ method: 'POST', url: `/v1/${spoilt.into}/bulk_identify`, headers: { ...auth(KEY), 'content-type': 'application/json' }, payload: spoilt.payload })
    sample = checkAnswer(res, spoilt.expected, upload)
    for (const list of ['jobs', 'users', 'companies'] as const) deepStrictEqual(await readAll(app, KEY, list), [], `no ${list}`)
    labels.set(spoilt.label, (labels.get(spoilt.label) ?? 0) + 1)
  }), RUNS)
  t.comment(`cases: ${JSON.stringify(Object.fromEntries([...labels].sort()))}`)
  t.ok(labels.size > 1, `${labels.size} kinds of spoiled body over ${RUNS.numRuns as number} runs`)
  // The property checks by throwing; the last answer once more through tap's own schema assertion.
  assertSchema(t, ErrorEnvelope, { errors: sample })
})

/** Half a character: a surrogate without its other half, raw or as the escape JSON.stringify writes for it. */
const HALF_CHARACTER = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\\ud[89a-f][0-9a-f]{2}/i

t.test('an error that shortens a long key never cuts a character in two', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const key = 'a' + '😀'.repeat(300)
  const res = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: { ...auth(KEY), 'content-type': 'application/json' }, payload: JSON.stringify({ users: [{ user_id: 'u1', metadata: { [key]: 'x' } }] }) })
  t.equal(res.statusCode, 400, 'a key of 301 characters is refused')
  const [entry] = (res.json() as ErrorEnvelope).errors as [ErrorEntry]
  t.equal(entry.error_code, 'invalid_metadata_key')
  t.notOk(HALF_CHARACTER.test(entry.details), `details ${JSON.stringify(entry.details.slice(-8))} has no half character`)
  t.notOk(HALF_CHARACTER.test(entry.message), `message ${JSON.stringify(entry.message.slice(-8))} has no half character`)
})
