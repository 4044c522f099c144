import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { JobAccepted } from '../../schemas/jobs.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import type { CompanyView } from '../../src/store/store.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, auth, bulkUsers, getJob, testApp } from '../helpers/app.js'
import {
  CLOCK_START, bulkCompanies, expectAccepted, expectAcceptedJob, expectErrors, expectJob, expectJobList,
  invalid, jobView, listJobs
} from '../helpers/http.js'

const PRIMITIVES = 'A string, number, boolean, or null to remove the property. Arrays and objects are rejected.'
const STRINGS = 'A string, or null to remove the property (MOCK_METADATA=strings).'
const ALL = { limit: 1000, offset: 0 }

const missingCompanies = invalid('missing_companies', 'The body needs a "companies" array with at least one company.', '/companies')
const invalidCompanies = invalid('invalid_companies', '"companies" must be an array of company objects.', '/companies')
const emptyCompanies = invalid('empty_companies', '"companies" is empty: send at least one company.', '/companies')
const invalidCompany = (row: number) => invalid('invalid_company', `companies[${row}] must be an object.`, `/companies/${row}`)
const missingCompanyId = (row: number) => invalid('missing_company_id', `companies[${row}].company_id is required: each company needs a non-empty string company_id.`, `/companies/${row}/company_id`)
const emptyCompanyId = (row: number) => invalid('empty_company_id', `companies[${row}].company_id is empty: it must be a non-empty string.`, `/companies/${row}/company_id`)
const invalidCompanyId = (row: number) => invalid('invalid_company_id', `companies[${row}].company_id must be a string.`, `/companies/${row}/company_id`)
const invalidMetadata = (row: number) => invalid('invalid_metadata', `companies[${row}].metadata must be an object of properties.`, `/companies/${row}/metadata`)
const invalidValue = (row: number, key: string, expected = PRIMITIVES) =>
  invalid('invalid_metadata_value', `companies[${row}].metadata[${JSON.stringify(key)}] is not accepted. Expected: ${expected}`, `/companies/${row}/metadata/${key}`)
const invalidKey = (row: number, shown: string, details: string) =>
  invalid('invalid_metadata_key', `companies[${row}].metadata has a key that is empty or longer than 255 characters: ${shown}.`, details)

function tooManyRecords (max: number, count: number): ErrorEntry {
  return {
    error: 'payload_too_large',
    error_code: 'too_many_records',
    message: `A bulk request carries at most ${max} companies; this one has ${count}. Split them into several requests.`,
    details: `/companies holds ${count} items`
  }
}

/** Bytes of a body as `bulkUsers` and `bulkCompanies` send it. */
function sizeOf (body: unknown): number {
  return Buffer.byteLength(JSON.stringify(body))
}

/** Sends companies as JSON and asserts the 202; returns it. */
async function sendCompanies (t: Test, app: FastifyInstance, body: { companies: unknown[] }, at = CLOCK_START): Promise<JobAccepted> {
  return expectAcceptedJob(t, await bulkCompanies(app, body), { type: 'companies', totalRows: body.companies.length, fileSize: sizeOf(body), at })
}

/** Sends users as JSON and asserts the 202; returns it. */
async function sendUsers (t: Test, app: FastifyInstance, body: { users: unknown[] }, at = CLOCK_START): Promise<JobAccepted> {
  return expectAccepted(t, await bulkUsers(app, body), { totalRows: body.users.length, fileSize: sizeOf(body), at })
}

/** `n` companies with distinct ids. */
function companies (n: number, make: (i: number) => Record<string, unknown> = (i) => ({ company_id: `c${i}` })): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => make(i))
}

/** A company view's metadata as a plain object, for `t.same`. */
function metadataOf (company: CompanyView | undefined): Record<string, unknown> | undefined {
  return company === undefined ? undefined : { ...company.metadata }
}

/** Each case: a raw JSON payload and the whole list of entries it must produce. */
const MATRIX: Array<[string, string, ErrorEntry[]]> = [
  ['no companies', '{}', [missingCompanies]],
  ['users instead of companies', '{"users":[{"user_id":"u1"}]}', [missingCompanies]],
  ['companies is an object', '{"companies":{"company_id":"c1"}}', [invalidCompanies]],
  ['companies is a string', '{"companies":"c1"}', [invalidCompanies]],
  ['companies is null', '{"companies":null}', [invalidCompanies]],
  ['companies is empty', '{"companies":[]}', [emptyCompanies]],
  ['rows that are not objects', '{"companies":[1,"c1",null,[],true]}', [0, 1, 2, 3, 4].map(invalidCompany)],
  ['no company_id', '{"companies":[{"metadata":{"a":1}}]}', [missingCompanyId(0)]],
  ['a user row sent to companies', '{"companies":[{"user_id":"u1"}]}', [missingCompanyId(0)]],
  ['empty company_id', '{"companies":[{"company_id":""}]}', [emptyCompanyId(0)]],
  ['a numeric company_id is not coerced', '{"companies":[{"company_id":123}]}', [invalidCompanyId(0)]],
  ['company_id of other types', '{"companies":[{"company_id":1.5},{"company_id":true},{"company_id":null},{"company_id":{}},{"company_id":["c1"]}]}', [0, 1, 2, 3, 4].map(invalidCompanyId)],
  ['metadata not an object', '{"companies":[{"company_id":"a","metadata":[]},{"company_id":"b","metadata":"x"},{"company_id":"c","metadata":1},{"company_id":"d","metadata":null}]}', [0, 1, 2, 3].map(invalidMetadata)],
  ['metadata values: arrays and objects', '{"companies":[{"company_id":"a","metadata":{"ok":1,"list":[1,2],"nested":{"x":1}}}]}', [invalidValue(0, 'list'), invalidValue(0, 'nested')]],
  ['metadata keys: empty and 256 characters', `{"companies":[{"company_id":"a","metadata":{"":1,"${'k'.repeat(256)}":2}}]}`, [
    invalidKey(0, '""', '/companies/0/metadata/'),
    invalidKey(0, `"${'k'.repeat(32)}…"`, `/companies/0/metadata/${'k'.repeat(64)}…`)
  ]],
  ['JSON paths name the row: /companies/2/company_id', '{"companies":[{"company_id":"ok"},{"company_id":"ok2"},{"company_id":7},{},{"company_id":""},5,{"company_id":"x","metadata":{"v":{}}}]}', [
    invalidCompanyId(2), missingCompanyId(3), emptyCompanyId(4), invalidCompany(5), invalidValue(6, 'v')
  ]]
]

t.test('202: the whole answer, type companies and a generated filename', async (t) => {
  const { app } = await testApp(t)
  const payload = JSON.stringify({ companies: [{ company_id: 'c1', metadata: { plan: 'pro', seats: 25 } }, { company_id: 'c2' }] })
  const accepted = expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 2, fileSize: Buffer.byteLength(payload) })
  t.match(accepted.filename, /^bulk_identify_companies_[0-9a-f-]{36}\.json$/)
  t.equal(accepted.file_size, 92, 'the byte count of this very payload')
  expectJobList(t, await listJobs(app), [jobView(accepted, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
})

t.test('file_size is the byte count of the body as received (multi-byte UTF-8, whitespace)', async (t) => {
  const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
  const payload = '\n ' + JSON.stringify({ companies: [{ company_id: 'ü-😀-日本', metadata: { city: 'Zürich' } }] }, null, 2) + '\r\n'
  t.not(Buffer.byteLength(payload), payload.length, 'precondition: bytes differ from UTF-16 units')
  expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 1, fileSize: Buffer.byteLength(payload) })
})

t.test('the validation matrix (MOCK_METADATA=primitives)', async (t) => {
  const { app } = await testApp(t)
  for (const [name, payload, errors] of MATRIX) {
    t.test(name, async (t) => {
      expectErrors(t, await bulkCompanies(app, payload), 400, errors)
    })
  }
  t.test('no job was created', async (t) => {
    expectJobList(t, await listJobs(app), [])
  })
})

t.test('MOCK_METADATA=strings: only strings and null', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_METADATA: 'strings' })
  const bad = { companies: [{ company_id: 'c1', metadata: { name: 'Acme', seats: 25, paying: true, gone: null } }] }
  expectErrors(t, await bulkCompanies(app, bad), 400, [invalidValue(0, 'seats', STRINGS), invalidValue(0, 'paying', STRINGS)])
  const good = JSON.stringify({ companies: [{ company_id: 'c1', metadata: { name: 'Acme', seats: '25', gone: null } }] })
  expectAcceptedJob(t, await bulkCompanies(app, good), { type: 'companies', totalRows: 1, fileSize: Buffer.byteLength(good) })
  await clock.advance(800)
  t.same(metadataOf(await app.mock.store.profiles.getCompany(tenantOf(KEY).id, 'c1')), { name: 'Acme', seats: '25' })
})

t.test('accepted: unknown fields are ignored, metadata of every primitive type', async (t) => {
  const { app, clock } = await testApp(t)
  const payload = JSON.stringify({
    companies: [
      { company_id: 'c1', metadata: { s: 'x', empty: '', n: 0, neg: -1.5, yes: true, no: false, gone: null } },
      { company_id: ' ', metadata: {} },
      { company_id: 'c3', user_id: 'ignored', unknown: [1] }
    ],
    extra: true
  })
  expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 3, fileSize: Buffer.byteLength(payload) })
  await clock.advance(800)
  const tenant = tenantOf(KEY).id
  t.same(metadataOf(await app.mock.store.profiles.getCompany(tenant, 'c1')), { s: 'x', empty: '', n: 0, neg: -1.5, yes: true, no: false })
  t.same((await app.mock.store.profiles.listCompanies(tenant, ALL)).map((company) => company.companyId), ['c1', ' ', 'c3'])
  t.same(metadataOf(await app.mock.store.profiles.getCompany(tenant, 'c3')), {}, 'unknown fields are not stored')
})

t.test('a body that is not an object, an empty body, a body over the limit: the companies endpoint answers in its own words', async (t) => {
  const { app } = await testApp(t, { MOCK_BODY_LIMIT: 1024 })

  const notObject = await bulkCompanies(app, '[]')
  t.equal(notObject.statusCode, 400)
  t.match(notObject.json(), { errors: [{ error: 'invalid_request', error_code: 'invalid_body', details: 'body' }] })
  t.notMatch(notObject.json().errors[0].message as string, /users/, 'invalid_body names companies, not users')

  const empty = await bulkCompanies(app, '')
  t.equal(empty.statusCode, 400)
  t.match(empty.json(), { errors: [{ error: 'invalid_request', error_code: 'empty_body', details: 'body' }] })
  t.notMatch(empty.json().errors[0].message as string, /users/, 'empty_body names companies, not users')

  const large = await bulkCompanies(app, JSON.stringify({ companies: [{ company_id: 'c1' }] }) + ' '.repeat(1024))
  t.equal(large.statusCode, 413)
  t.match(large.json(), { errors: [{ error: 'payload_too_large', error_code: 'body_too_large', details: 'limit 1024 bytes' }] })
  t.notMatch(large.json().errors[0].message as string, /users/, 'body_too_large names companies, not users')
})

t.test('no content type and no body: 415', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ method: 'POST', url: '/v1/companies/bulk_identify', headers: auth() })
  expectErrors(t, res, 415, [{
    error: 'unsupported_media_type',
    error_code: 'unsupported_content_type',
    message: 'Send the body as Content-Type: application/json (or multipart/form-data with an NDJSON file in the field "file").',
    details: 'content-type "(none)"'
  }])
  expectJobList(t, await listJobs(app), [])
})

t.test('limits', async (t) => {
  t.test('MOCK_MAX_RECORDS sets the limit: 5 accepted, 6 is 413', async (t) => {
    const { app } = await testApp(t, { MOCK_MAX_RECORDS: 5 })
    const payload = JSON.stringify({ companies: companies(5) })
    const accepted = expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 5, fileSize: Buffer.byteLength(payload) })
    expectErrors(t, await bulkCompanies(app, { companies: companies(6) }), 413, [tooManyRecords(5, 6)])
    expectJobList(t, await listJobs(app), [jobView(accepted, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
  })

  t.test('413 before the row validation: 6 invalid companies over a limit of 5', async (t) => {
    const { app } = await testApp(t, { MOCK_MAX_RECORDS: 5 })
    expectErrors(t, await bulkCompanies(app, { companies: companies(6, (i) => ({ company_id: i })) }), 413, [tooManyRecords(5, 6)])
    expectJobList(t, await listJobs(app), [])
  })

  t.test('the default: 10,000 accepted, 10,001 is 413', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const payload = JSON.stringify({ companies: companies(10_000) })
    expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 10_000, fileSize: Buffer.byteLength(payload) })
    expectErrors(t, await bulkCompanies(app, { companies: companies(10_001) }), 413, [tooManyRecords(10_000, 10_001)])
  })

  t.test('the errors stop at 100 entries', async (t) => {
    const { app } = await testApp(t)
    const res = await bulkCompanies(app, { companies: companies(150, () => ({ company_id: '' })) })
    expectErrors(t, res, 400, Array.from({ length: 100 }, (_, i) => emptyCompanyId(i)))
  })
})

t.test('the job: its lifecycle, then the stored companies', async (t) => {
  const { app, clock } = await testApp(t)
  const tenant = tenantOf(KEY).id
  const payload = JSON.stringify({ companies: [{ company_id: 'c1', metadata: { plan: 'free', seats: 3, note: 'x' } }, { company_id: 'c2' }] })
  const accepted = expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 2, fileSize: Buffer.byteLength(payload) })
  await clock.advance(400)
  t.equal(await app.mock.store.profiles.getCompany(tenant, 'c1'), undefined, 'nothing applied before processing')
  t.same(await app.mock.store.profiles.listCompanies(tenant, ALL), [])
  expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, { status: 'processing', completed_rows: 0, elapsed_time: 0 }))
  await clock.advance(400)
  expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, {
    status: 'completed', completed_rows: 2, elapsed_time: 0, end_time: new Date(CLOCK_START + 800).toISOString()
  }))
  const c1 = await app.mock.store.profiles.getCompany(tenant, 'c1')
  t.same(metadataOf(c1), { plan: 'free', seats: 3, note: 'x' })
  t.match(c1, { companyId: 'c1', lastTouch: { kind: 'job', id: accepted.job_id }, deletionScheduledAt: null, userCount: 0 })
  t.equal(c1?.createdAt, CLOCK_START + 500, 'created half way through processing (400–600 ms): the first of two rows')
  t.equal((await app.mock.store.profiles.getCompany(tenant, 'c2'))?.createdAt, CLOCK_START + 600)
  t.same(await app.mock.store.profiles.getUser(tenant, 'c1'), undefined, 'companies are not users')
  t.same(await app.mock.store.profiles.listUsers(tenant, ALL), [])
})

t.test('metadata is merged, null removes a property, later rows win', async (t) => {
  const { app, clock } = await testApp(t)
  const tenant = tenantOf(KEY).id
  const first = JSON.stringify({ companies: [{ company_id: 'c1', metadata: { plan: 'free', seats: 3, trial: true, note: 'x' } }, { company_id: 'c2', metadata: { a: 1 } }] })
  const one = expectAcceptedJob(t, await bulkCompanies(app, first), { type: 'companies', totalRows: 2, fileSize: Buffer.byteLength(first) })
  await clock.advance(800)
  const second = JSON.stringify({
    companies: [
      { company_id: 'c1', metadata: { plan: 'pro', note: null } },
      { company_id: 'c3' },
      { company_id: 'c1', metadata: { plan: 'enterprise', seats: 10, missing: null } }
    ]
  })
  const two = expectAcceptedJob(t, await bulkCompanies(app, second), { type: 'companies', totalRows: 3, fileSize: Buffer.byteLength(second), at: CLOCK_START + 800 })
  await clock.advance(800)
  const c1 = await app.mock.store.profiles.getCompany(tenant, 'c1')
  t.same(metadataOf(c1), { plan: 'enterprise', seats: 10, trial: true }, 'merged; null removed note; the later row won')
  t.match(c1, { companyId: 'c1', lastTouch: { kind: 'job', id: two.job_id }, deletionScheduledAt: null, userCount: 0 })
  t.equal(c1?.createdAt, CLOCK_START + 500, 'created by the first job')
  t.equal(c1?.updatedAt, CLOCK_START + 1400, 'updated by the last row of the second job (processing 1200–1400 ms)')
  const c2 = await app.mock.store.profiles.getCompany(tenant, 'c2')
  t.same(metadataOf(c2), { a: 1 }, 'a company not in the second job is untouched')
  t.equal(c2?.lastTouch.id, one.job_id)
  t.same(metadataOf(await app.mock.store.profiles.getCompany(tenant, 'c3')), {}, 'a company without metadata has none')

  const listed = await app.mock.store.profiles.listCompanies(tenant, ALL)
  t.same(listed.map((company) => company.companyId), ['c1', 'c2', 'c3'], 'in the order first identified')
  t.same(listed.map(metadataOf), [{ plan: 'enterprise', seats: 10, trial: true }, { a: 1 }, {}])
  t.same(await app.mock.store.profiles.listCompanies(tenant, { limit: 1, offset: 1 }).then((page) => page.map((company) => company.companyId)), ['c2'])
  t.equal(await app.mock.store.profiles.getCompany(tenantOf('another-key').id, 'c1'), undefined, 'other keys see nothing')
  t.same(await app.mock.store.profiles.listCompanies(tenantOf('another-key').id, ALL), [])
})

t.test("a company's userCount is derived from its users", async (t) => {
  const { app, clock } = await testApp(t)
  const tenant = tenantOf(KEY).id
  const counts = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await app.mock.store.profiles.listCompanies(tenant, ALL)).map((company) => [company.companyId, company.userCount]))

  await sendCompanies(t, app, { companies: [{ company_id: 'c1' }, { company_id: 'c2' }, { company_id: 'c0' }] })
  await clock.advance(800)
  t.same(await counts(), { c1: 0, c2: 0, c0: 0 }, 'companies identified without users count 0')

  await sendUsers(t, app, { users: [{ user_id: 'u1', company_id: 'c1' }, { user_id: 'u2', company_id: 'c1' }, { user_id: 'u3', company_id: 'c2' }] }, CLOCK_START + 800)
  await clock.advance(800)
  t.same(await counts(), { c1: 2, c2: 1, c0: 0 })
  t.equal((await app.mock.store.profiles.getCompany(tenant, 'c1'))?.userCount, 2)

  await sendUsers(t, app, { users: [{ user_id: 'u2', company_id: 'c2' }, { user_id: 'u3', metadata: { x: 1 } }] }, CLOCK_START + 1600)
  await clock.advance(800)
  t.same(await counts(), { c1: 1, c2: 2, c0: 0 }, 'u2 moved from c1 to c2; u3 kept its company')
  t.equal((await app.mock.store.profiles.getCompany(tenant, 'c2'))?.userCount, 2)

  await sendUsers(t, app, { users: [{ user_id: 'u1', company_id: 'c2' }] }, CLOCK_START + 2400)
  await clock.advance(800)
  t.same(await counts(), { c1: 0, c2: 3, c0: 0 }, 'the last user left c1')

  // Identifying a company again changes its metadata, never its count.
  await sendCompanies(t, app, { companies: [{ company_id: 'c2', metadata: { seats: 3 } }] }, CLOCK_START + 3200)
  await clock.advance(800)
  t.same(await counts(), { c1: 0, c2: 3, c0: 0 })
})

t.test('users pointing at a company never identified create no company record; identifying it later shows them', async (t) => {
  const { app, clock } = await testApp(t)
  const tenant = tenantOf(KEY).id
  await sendUsers(t, app, { users: [{ user_id: 'u1', company_id: 'ghost' }, { user_id: 'u2', company_id: 'ghost' }] })
  await clock.advance(800)
  t.equal(await app.mock.store.profiles.getCompany(tenant, 'ghost'), undefined)
  t.same(await app.mock.store.profiles.listCompanies(tenant, ALL), [])
  t.equal((await app.mock.store.profiles.getUser(tenant, 'u1'))?.companyId, 'ghost')

  await sendCompanies(t, app, { companies: [{ company_id: 'ghost', metadata: { name: 'Ghost Inc' } }] }, CLOCK_START + 800)
  await clock.advance(800)
  const ghost = await app.mock.store.profiles.getCompany(tenant, 'ghost')
  t.equal(ghost?.userCount, 2, 'the count is derived from the users already there')
  t.same(metadataOf(ghost), { name: 'Ghost Inc' })
})

t.test('__proto__ as a company id and as metadata keys: ordinary keys', async (t) => {
  const { app, clock } = await testApp(t)
  const tenant = tenantOf(KEY).id
  const payload = '{"companies":[{"company_id":"__proto__","metadata":{"__proto__":"polluted","constructor":"ctor"}},{"company_id":"constructor"}]}'
  expectAcceptedJob(t, await bulkCompanies(app, payload), { type: 'companies', totalRows: 2, fileSize: Buffer.byteLength(payload) })
  const otherKey = { users: [{ user_id: 'u1', company_id: '__proto__' }] }
  expectAccepted(t, await bulkUsers(app, otherKey, auth('another-key')), { totalRows: 1, fileSize: sizeOf(otherKey), key: 'another-key' })
  await clock.advance(800)
  const proto = await app.mock.store.profiles.getCompany(tenant, '__proto__')
  t.equal(proto?.companyId, '__proto__')
  t.same(Object.entries(proto?.metadata ?? {}), [['__proto__', 'polluted'], ['constructor', 'ctor']])
  t.equal(proto?.userCount, 0, 'the other key’s user does not count here')
  t.same((await app.mock.store.profiles.listCompanies(tenant, ALL)).map((company) => company.companyId), ['__proto__', 'constructor'])
  t.equal(await app.mock.store.profiles.getCompany(tenant, 'toString'), undefined)
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
  t.equal(({} as Record<string, unknown>).polluted, undefined)
})
