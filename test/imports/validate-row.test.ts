import t from 'tap'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import type { ImportRow } from '../../src/imports/import-row.js'
import { importRowValidator, parseTimestamp, type RowResult } from '../../src/imports/validate-row.js'
import { invalid } from '../helpers/http.js'

const PRIMITIVES = 'A string, number, boolean, or null to remove the property. Arrays and objects are rejected.'
const STRINGS = 'A string, or null to remove the property (MOCK_METADATA=strings).'
const TYPES = 'identify_user, identify_company, page_view, track'
const SOURCES = 'web-client, backend-http, backend-hubspot, backend-salesforce, backend-segment, backend-http-import'
const TIME = '2024-07-28T08:55:35.874Z'
const AT = Date.parse(TIME)

const validate = importRowValidator({ mode: 'primitives' })

/** The row a good input becomes (fails the test with the problems otherwise). */
function good (raw: unknown, line = 1, check = validate): ImportRow {
  const result: RowResult = check(raw, line)
  if (result.problems !== undefined) throw new Error(`expected a good row, got ${JSON.stringify(result.problems)}`)
  return result.row
}

/** The problems of a bad input (fails the test when it is good). */
function problems (raw: unknown, line = 1, check = validate): ErrorEntry[] {
  const result = check(raw, line)
  if (result.row !== undefined) throw new Error(`expected problems, got the row ${JSON.stringify(result.row)}`)
  return result.problems
}

const user = { event_type: 'identify_user', user_id: 'u1', source: 'backend-http', inserted_at: TIME }
const company = { event_type: 'identify_company', company_id: 'c1', source: 'backend-http', inserted_at: TIME }
const track = { event_type: 'track', user_id: 'u1', event_name: 'Clicked', source: 'backend-http', inserted_at: TIME }
const page = { event_type: 'page_view', user_id: 'u1', hostname: 'app.example.com', pathname: '/settings', source: 'backend-http', inserted_at: TIME }

const missing = (line: number, field: string, why: string) => invalid(`missing_${field}`, `Line ${line}: ${field} is required ${why}.`, `line ${line}: /${field}`)
const orUrl = ' (or a url, which stands for hostname and pathname)'

t.test('each type: its good row becomes the event it records', async (t) => {
  t.strictSame(good(user), { eventType: 'identify_user', eventName: '', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT }, 'identify_user: missing metadata is {}')
  t.strictSame(good({ ...user, company_id: 'c9', metadata: { plan: 'pro', seats: 3, trial: false, gone: null } }),
    { eventType: 'identify_user', eventName: '', userId: 'u1', companyId: 'c9', metadata: { plan: 'pro', seats: 3, trial: false, gone: null }, source: 'backend-http', insertedAt: AT },
    'identify_user with company_id and metadata')
  t.strictSame(good({ ...company, metadata: { name: 'Acme' } }),
    { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: { name: 'Acme' }, source: 'backend-http', insertedAt: AT })
  t.strictSame(good(track), { eventType: 'track', eventName: 'Clicked', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT })
  t.strictSame(good({ ...track, company_id: 'c2', metadata: { n: 1 } }),
    { eventType: 'track', eventName: 'Clicked', userId: 'u1', companyId: 'c2', metadata: { n: 1 }, source: 'backend-http', insertedAt: AT })
  t.strictSame(good(page), { eventType: 'page_view', eventName: '', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT, hostname: 'app.example.com', pathname: '/settings' })
})

t.test('every documented source is accepted, anything else refused', async (t) => {
  for (const source of ['backend-http', 'backend-hubspot', 'backend-salesforce', 'backend-segment', 'backend-http-import']) {
    t.equal(good({ ...user, source }).source, source)
  }
  t.equal(good({ ...user, source: 'web-client', hostname: 'h', pathname: '/', user_agent: 'UA' }).source, 'web-client')
  for (const source of ['Backend-HTTP', 'backend', 'web-client ', 'segment']) {
    t.same(problems({ ...user, source }, 4), [invalid('invalid_source', `Line 4: source must be one of ${SOURCES}; got ${JSON.stringify(source)}.`, 'line 4: /source')], source)
  }
  t.same(problems({ ...user, source: undefined }, 2), [missing(2, 'source', 'on every row')])
  t.same(problems({ ...user, source: '' }, 2), [invalid('empty_source', 'Line 2: source is empty: it must be a non-empty string.', 'line 2: /source')])
  t.same(problems({ ...user, source: 7 }, 2), [invalid('invalid_source', 'Line 2: source must be a string, not a number.', 'line 2: /source')])
})

t.test('required fields per type, named on the row\'s line', async (t) => {
  t.same(problems({ event_type: 'identify_user' }, 3), [
    missing(3, 'user_id', 'on an identify_user row'),
    missing(3, 'source', 'on every row'),
    missing(3, 'inserted_at', 'on every row')
  ])
  t.same(problems({ event_type: 'identify_company', source: 'backend-http', inserted_at: TIME }, 5), [missing(5, 'company_id', 'on an identify_company row')])
  t.same(problems({ event_type: 'track', source: 'backend-http', inserted_at: TIME }, 6), [
    missing(6, 'user_id', 'on a track row'),
    missing(6, 'event_name', 'on a track row')
  ])
  t.same(problems({ event_type: 'page_view', user_id: 'u1', source: 'backend-http', inserted_at: TIME }, 7), [
    missing(7, 'hostname', `on a page_view row${orUrl}`),
    missing(7, 'pathname', `on a page_view row${orUrl}`)
  ])
})

t.test('web-client rows need hostname, pathname and user_agent; a url stands for the first two', async (t) => {
  const web = { ...track, source: 'web-client' }
  t.same(problems(web, 8), [
    missing(8, 'hostname', `when source is web-client${orUrl}`),
    missing(8, 'pathname', `when source is web-client${orUrl}`),
    missing(8, 'user_agent', 'when source is web-client')
  ])
  t.strictSame(good({ ...web, url: 'https://app.example.com/billing?tab=1#top', user_agent: 'Mozilla/5.0' }), {
    eventType: 'track',
    eventName: 'Clicked',
    userId: 'u1',
    companyId: null,
    metadata: {},
    source: 'web-client',
    insertedAt: AT,
    hostname: 'app.example.com',
    pathname: '/billing',
    userAgent: 'Mozilla/5.0'
  })
  t.same(problems({ ...user, source: 'web-client', hostname: 'h', pathname: '/p' }, 2), [missing(2, 'user_agent', 'when source is web-client')], 'identify_user too')
  t.strictSame(good({ ...company, source: 'web-client' }),
    { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: {}, source: 'web-client', insertedAt: AT },
    'identify_company: only company_id, source, inserted_at and metadata are used, so web-client asks nothing more')
})

t.test('url overrides hostname and pathname; they are then not read at all', async (t) => {
  const row = good({ ...page, hostname: 7, pathname: '', url: 'HTTPS://App.Example.COM:8443/a%20b/c?q#f' })
  t.equal(row.hostname, 'app.example.com', 'the URL\'s host, as the URL parser normalises it')
  t.equal(row.pathname, '/a%20b/c')
  t.strictSame(good({ event_type: 'page_view', user_id: 'u1', url: 'https://h.example', source: 'backend-http', inserted_at: TIME }),
    { eventType: 'page_view', eventName: '', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT, hostname: 'h.example', pathname: '/' })
  for (const url of ['not a url', '/relative/path', 'mailto:someone@example.com', 'https://', 'app.example.com/x']) {
    t.same(problems({ ...page, url }, 9), [invalid('invalid_url', `Line 9: url must be an absolute URL such as https://app.example.com/settings; got ${JSON.stringify(url)}.`, 'line 9: /url')], url)
  }
  t.same(problems({ event_type: 'page_view', user_id: 'u1', url: ['x'], source: 'backend-http', inserted_at: TIME }, 1),
    [invalid('invalid_url', 'Line 1: url must be a string, not an array.', 'line 1: /url')], 'a url of the wrong type: hostname and pathname are not asked for besides')
})

t.test('optional fields are kept only when present (never as undefined)', async (t) => {
  const row = good({ ...track, hostname: 'h.example', user_agent: 'UA' })
  t.same(row, { eventType: 'track', eventName: 'Clicked', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT, hostname: 'h.example', userAgent: 'UA' })
  for (const name of ['pathname', 'micros'] as const) t.notOk(name in row, `no ${name} property`)
  const bare = good(user)
  for (const name of ['micros', 'hostname', 'pathname', 'userAgent'] as const) t.notOk(name in bare, `no ${name} property`)
})

t.test('identify_company ignores the fields it does not use, whatever they hold', async (t) => {
  t.strictSame(good({ ...company, user_id: 5, event_name: [], hostname: '', url: 'not a url', user_agent: null }),
    { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: {}, source: 'backend-http', insertedAt: AT })
})

t.test('event_name on other types is ignored; track keeps it', async (t) => {
  t.equal(good({ ...user, event_name: 'x' }).eventName, '')
  t.equal(good({ ...page, event_name: 'x' }).eventName, '')
  t.same(problems({ ...track, event_name: '' }, 3), [invalid('empty_event_name', 'Line 3: event_name is empty: it must be a non-empty string.', 'line 3: /event_name')])
})

t.test('ids: empty or not a string', async (t) => {
  t.same(problems({ ...user, user_id: '' }, 2), [invalid('empty_user_id', 'Line 2: user_id is empty: it must be a non-empty string.', 'line 2: /user_id')])
  t.same(problems({ ...company, company_id: '' }, 2), [invalid('empty_company_id', 'Line 2: company_id is empty: it must be a non-empty string.', 'line 2: /company_id')])
  t.same(problems({ ...track, company_id: '' }, 2), [invalid('empty_company_id', 'Line 2: company_id is empty: it must be a non-empty string.', 'line 2: /company_id')], 'an optional company_id, when present, is not empty')
  const kinds: Array<[unknown, string]> = [[1, 'a number'], [true, 'a boolean'], [null, 'null'], [{}, 'an object'], [['u1'], 'an array']]
  for (const [value, kind] of kinds) {
    t.same(problems({ ...user, user_id: value }, 4), [invalid('invalid_user_id', `Line 4: user_id must be a string, not ${kind}.`, 'line 4: /user_id')], kind)
  }
  t.same(problems({ ...track, user_agent: 1, hostname: false }, 1), [
    invalid('invalid_hostname', 'Line 1: hostname must be a string, not a boolean.', 'line 1: /hostname'),
    invalid('invalid_user_agent', 'Line 1: user_agent must be a string, not a number.', 'line 1: /user_agent')
  ])
})

t.test('event_type: missing, unknown, of the wrong type; the fields every type needs are still checked', async (t) => {
  t.same(problems({ user_id: 'u1', source: 'backend-http', inserted_at: TIME }, 1),
    [invalid('missing_event_type', `Line 1: event_type is required: one of ${TYPES}.`, 'line 1: /event_type')])
  t.same(problems({ event_type: 'identify', source: 'nope', inserted_at: 'never', metadata: 'x' }, 2), [
    invalid('invalid_event_type', `Line 2: event_type must be one of ${TYPES}; got "identify".`, 'line 2: /event_type'),
    invalid('invalid_metadata', 'Line 2: metadata must be an object of properties.', 'line 2: /metadata'),
    invalid('invalid_source', `Line 2: source must be one of ${SOURCES}; got "nope".`, 'line 2: /source'),
    invalid('invalid_inserted_at', 'Line 2: inserted_at must be an ISO 8601 time such as 2024-07-28T08:55:35.874Z, or 2024-07-28 08:55:35.874555 (no zone: UTC); got "never".', 'line 2: /inserted_at')
  ])
  t.same(problems({ event_type: 3 }, 2), [
    invalid('invalid_event_type', `Line 2: event_type must be one of ${TYPES}; got a number.`, 'line 2: /event_type'),
    missing(2, 'source', 'on every row'),
    missing(2, 'inserted_at', 'on every row')
  ])
  t.same(problems({ ...user, event_type: '' }, 2), [invalid('empty_event_type', `Line 2: event_type is empty: it must be one of ${TYPES}.`, 'line 2: /event_type')])
  t.same(problems({ ...user, event_type: 'Identify_User' }, 2), [invalid('invalid_event_type', `Line 2: event_type must be one of ${TYPES}; got "Identify_User".`, 'line 2: /event_type')], 'case matters')
  t.same(problems({ ...user, event_type: 'toString' }, 2), [invalid('invalid_event_type', `Line 2: event_type must be one of ${TYPES}; got "toString".`, 'line 2: /event_type')], 'no inherited name passes')
})

t.test('a row that is not an object', async (t) => {
  const kinds: Array<[unknown, string]> = [[null, 'null'], [1, 'a number'], ['x', 'a string'], [[user], 'an array'], [false, 'a boolean']]
  for (const [value, kind] of kinds) {
    t.same(problems(value, 6), [invalid('invalid_row', `Line 6 must be a JSON object with an event_type and the fields of its type, not ${kind}.`, 'line 6')], kind)
  }
})

t.test('only own fields count: nothing is read from the prototype, __proto__ is a plain (unknown) field', async (t) => {
  const inherited = Object.assign(Object.create({ user_id: 'from-prototype' }) as object, { event_type: 'identify_user', source: 'backend-http', inserted_at: TIME })
  t.same(problems(inherited, 1), [missing(1, 'user_id', 'on an identify_user row')])
  const unknown: Array<[string, number]> = []
  const check = importRowValidator({ mode: 'primitives', onUnknown: (name, line) => unknown.push([name, line]) })
  const raw = JSON.parse('{"event_type":"identify_user","user_id":"u1","source":"backend-http","inserted_at":"2024-07-28T08:55:35.874Z","__proto__":{"company_id":"evil"}}') as unknown
  t.equal(good(raw, 3, check).companyId, null)
  t.same(unknown, [['__proto__', 3]])
})

t.test('metadata: an object whose values follow MOCK_METADATA, as in bulk rows', async (t) => {
  for (const [metadata, kind] of [['x', 'a string'], [[], 'an array'], [null, 'null'], [3, 'a number']] as const) {
    t.same(problems({ ...user, metadata }, 5), [invalid('invalid_metadata', 'Line 5: metadata must be an object of properties.', 'line 5: /metadata')], kind)
  }
  t.same(problems({ ...user, metadata: { ok: 1, list: [1], nested: { a: 1 } } }, 9), [
    invalid('invalid_metadata_value', `Line 9: metadata["list"] is not accepted. Expected: ${PRIMITIVES}`, 'line 9: /metadata/list'),
    invalid('invalid_metadata_value', `Line 9: metadata["nested"] is not accepted. Expected: ${PRIMITIVES}`, 'line 9: /metadata/nested')
  ])
  t.same(problems({ ...track, metadata: { '': 1 } }, 2), [invalid('invalid_metadata_key', 'Line 2: metadata has a key that is empty or longer than 255 characters: "".', 'line 2: /metadata/')])
  const many = Object.fromEntries(Array.from({ length: MAX_METADATA_KEYS + 1 }, (_, i) => [`k${i}`, i]))
  t.same(problems({ ...company, metadata: many }, 1),
    [invalid('too_many_metadata_keys', `Line 1: metadata has more than ${MAX_METADATA_KEYS} properties: send the rest in another request.`, 'line 1: /metadata')])

  const strings = importRowValidator({ mode: 'strings' })
  t.same(problems({ ...user, metadata: { plan: 'pro', seats: 3 } }, 1, strings),
    [invalid('invalid_metadata_value', `Line 1: metadata["seats"] is not accepted. Expected: ${STRINGS}`, 'line 1: /metadata/seats')])
  t.same(good({ ...user, metadata: { plan: 'pro', gone: null } }, 1, strings).metadata, { plan: 'pro', gone: null })
})

t.test('unknown fields: reported once per row that is good, with its line; known fields never', async (t) => {
  const seen: Array<[string, number]> = []
  const check = importRowValidator({ mode: 'primitives', onUnknown: (name, line) => seen.push([name, line]) })
  good({ ...user, email: 'a@b.c', metadata: { email: 'x' } }, 2, check)
  good({ ...track, hostname: 'h', pathname: '/', url: 'https://h/', user_agent: 'UA', company_id: 'c' }, 3, check)
  good({ ...company, user_id: 'u', Plan: 'x' }, 4, check)
  problems({ ...user, user_id: '', extra: 1 }, 5, check)
  t.same(seen, [['email', 2], ['Plan', 4]], 'a bad row is not inspected')
})

t.test('inserted_at: both documented forms and ISO variants', async (t) => {
  const cases: Array<[string, number, number?]> = [
    ['2024-07-28T08:55:35.874Z', Date.UTC(2024, 6, 28, 8, 55, 35, 874)],
    ['2024-07-28 08:55:35.874555', Date.UTC(2024, 6, 28, 8, 55, 35, 874), 555],
    ['2024-07-28 08:55:35.874000', Date.UTC(2024, 6, 28, 8, 55, 35, 874)],
    ['2024-07-28 08:55:35.000001', Date.UTC(2024, 6, 28, 8, 55, 35, 0), 1],
    ['2024-07-28 08:55:35.123456789', Date.UTC(2024, 6, 28, 8, 55, 35, 123), 456],
    ['2024-07-28 08:55:35.5', Date.UTC(2024, 6, 28, 8, 55, 35, 500)],
    ['2024-07-28T08:55:35', Date.UTC(2024, 6, 28, 8, 55, 35)],
    ['2024-07-28 08:55', Date.UTC(2024, 6, 28, 8, 55)],
    ['2024-07-28t08:55:35z', Date.UTC(2024, 6, 28, 8, 55, 35)],
    ['2024-07-28T10:55:35+02:00', Date.UTC(2024, 6, 28, 8, 55, 35)],
    ['2024-07-28T10:55:35+0200', Date.UTC(2024, 6, 28, 8, 55, 35)],
    ['2024-07-28T10:55:35+02', Date.UTC(2024, 6, 28, 8, 55, 35)],
    ['2024-07-28T03:25:35.874555-05:30', Date.UTC(2024, 6, 28, 8, 55, 35, 874), 555],
    ['2024-12-31T23:30:00-01:00', Date.UTC(2025, 0, 1, 0, 30)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1969-12-31T23:59:59.999Z', -1],
    ['0099-01-01T00:00:00Z', Date.parse('0099-01-01T00:00:00Z')]
  ]
  for (const [text, ms, micros] of cases) {
    t.strictSame(parseTimestamp(text), micros === undefined ? { ms } : { ms, micros }, text)
    const row = good({ ...user, inserted_at: text })
    t.equal(row.insertedAt, ms, `${text}: insertedAt`)
    t.equal(row.micros, micros, `${text}: micros`)
    t.equal('micros' in row, micros !== undefined, `${text}: micros only when there are sub-millisecond digits`)
  }
})

t.test('inserted_at: what is not such a time', async (t) => {
  const texts = [
    '', ' 2024-07-28T08:55:35Z', '2024-07-28T08:55:35Z ', '2024-07-28', '2024-07-28T08', '1722156935874', 'yesterday',
    '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-13-01T00:00:00Z', '2024-00-10T00:00:00Z', '2024-07-00T00:00:00Z',
    '2024-07-28T24:00:00Z', '2024-07-28T23:60:00Z', '2024-07-28T23:59:60Z', '2024-07-28T08:55:35+24:00', '2024-07-28T08:55:35+02:60',
    '2024-07-28T08:55:35.Z', '2024-07-28T08:55:35.1234567890Z', '2024-07-28T08:55:35 Z', '2024-07-28T08:55:35UTC', '24-07-28T08:55:35Z',
    '2024-7-28T08:55:35Z', '2024/07/28 08:55:35', '+002024-07-28T08:55:35Z', '2024-07-28T08:55:35,874Z', '２０２４-07-28T08:55:35Z'
  ]
  for (const text of texts) {
    t.equal(parseTimestamp(text), undefined, JSON.stringify(text))
    const expected = text === ''
      ? invalid('empty_inserted_at', 'Line 1: inserted_at is empty: it must be a non-empty string.', 'line 1: /inserted_at')
      : invalid('invalid_inserted_at', `Line 1: inserted_at must be an ISO 8601 time such as 2024-07-28T08:55:35.874Z, or 2024-07-28 08:55:35.874555 (no zone: UTC); got ${JSON.stringify(text)}.`, 'line 1: /inserted_at')
    t.same(problems({ ...user, inserted_at: text }), [expected], JSON.stringify(text))
  }
  t.same(problems({ ...user, inserted_at: 1722156935874 }), [invalid('invalid_inserted_at', 'Line 1: inserted_at must be a string, not a number.', 'line 1: /inserted_at')], 'epoch numbers are not the documented form')
})

t.test('long or hostile values are quoted short and escaped', async (t) => {
  const [entry] = problems({ ...user, source: `\u202e${'s'.repeat(500)}` }, 1)
  t.equal(entry?.message, `Line 1: source must be one of ${SOURCES}; got "\\u202e${'s'.repeat(39)}…".`)
})
