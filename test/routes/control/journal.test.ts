import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { JournalEntry } from '../../../schemas/control.js'
import { tenantOf } from '../../../src/tenant.js'
import { KEY, auth, bulkUsers, testApp, users } from '../../helpers/app.js'
import { BOUNDARY, control, expectOk, isoAt, rawRequest, uploadNdjson } from '../../helpers/http.js'

const OTHER = 'test-key-2'
const ENV = tenantOf(KEY).envId
const OTHER_ENV = tenantOf(OTHER).envId
const Journal = Type.Array(JournalEntry)

type Expected = Omit<JournalEntry, 'duration_ms' | 'id'>

/** The headers inject sends by itself, plus those given. */
function sent (headers: Record<string, string>, contentLength?: number): Record<string, string> {
  return { ...headers, 'user-agent': 'lightMyRequest', host: 'localhost:80', ...(contentLength === undefined ? {} : { 'content-length': String(contentLength) }) }
}

/** What the journal should show for a request answered by `res`. */
function entry (res: LightMyRequestResponse, fields: Partial<Expected> & Pick<Expected, 'method' | 'path' | 'headers'>): Expected {
  return {
    time: isoAt(0),
    key_id: ENV,
    request_id: res.headers['x-request-id'] as string,
    status: res.statusCode,
    body: null,
    body_bytes: 0,
    body_truncated: false,
    warnings: [],
    ...fields
  }
}

/** Reads the journal (this key's, or with `query`) and asserts it equals `expected` (ids and durations checked apart); returns it. */
async function expectJournal (t: Test, app: FastifyInstance, expected: Expected[], options: { key?: string | null, query?: string } = {}): Promise<JournalEntry[]> {
  const list = expectOk<JournalEntry[]>(t, await control(app, 'GET', `/requests${options.query ?? ''}`, { key: options.key }), Journal)
  for (const item of list) {
    t.ok(Number.isFinite(item.duration_ms) && item.duration_ms >= 0 && Number(item.duration_ms.toFixed(2)) === item.duration_ms, `duration_ms ${item.duration_ms}: milliseconds to 2 decimals`)
  }
  t.same(list.map(({ duration_ms: _, id: __, ...rest }) => rest), expected, 'the whole journal, newest first')
  const ids = list.map((item) => item.id)
  t.same(ids, [...ids].sort((a, b) => b - a), 'ids decrease: newest first')
  return list
}

t.test('an empty journal', async (t) => {
  const { app } = await testApp(t)
  await expectJournal(t, app, [])
  await expectJournal(t, app, [], { key: null, query: '?all=1' })
})

t.test('each /v1 request: method, path, status, request id, masked headers and body, newest first', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const payload = JSON.stringify({ users: users(2) })
  const bulk = await bulkUsers(app, payload)
  await clock.advance(1500)
  const jobId = bulk.json<{ job_id: string }>().job_id
  const status = await app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers: { ...auth(), 'x-request-id': 'client-req-1' } })
  const list = await app.inject({ method: 'GET', url: '/v1/background_jobs?limit=5&offset=0', headers: auth() })
  const journal = await expectJournal(t, app, [
    entry(list, { time: isoAt(1500), method: 'GET', path: '/v1/background_jobs?limit=5&offset=0', headers: sent({ authorization: `Token *** (${ENV})` }) }),
    entry(status, { time: isoAt(1500), request_id: 'client-req-1', method: 'GET', path: `/v1/background_jobs/${jobId}`, headers: sent({ authorization: `Token *** (${ENV})`, 'x-request-id': 'client-req-1' }) }),
    entry(bulk, {
      method: 'POST',
      path: '/v1/users/bulk_identify',
      headers: sent({ authorization: `Token *** (${ENV})`, 'content-type': 'application/json' }, payload.length),
      body: payload,
      body_bytes: payload.length
    })
  ])
  t.same(journal.map((item) => item.status), [200, 200, 202])
  t.equal(journal[2]?.request_id, bulk.headers['x-request-id'], 'request_id is the x-request-id of the answer')
  t.notMatch(JSON.stringify(journal), KEY, 'the key itself is nowhere')
})

t.test('the key never appears, whatever the scheme or spacing', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: KEY })
  const cases: Array<[string, string]> = [
    [`Token ${KEY}`, `Token *** (${ENV})`],
    [`token   ${KEY}  `, `token *** (${ENV})`],
    [`Bearer ${KEY}`, 'Bearer ***'],
    ['Token wrong-key-123', 'Token ***'],
    ['Token', 'Token ***']
  ]
  for (const [header] of cases) await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: { authorization: header } })
  const list = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests?all=1', { key: null }), Journal)
  t.same(list.map((item) => item.headers.authorization).reverse(), cases.map(([, masked]) => masked))
  t.same(list.map((item) => item.status).reverse(), [200, 200, 401, 401, 401])
  t.notMatch(JSON.stringify(list), KEY)
  t.notMatch(JSON.stringify(list), 'wrong-key-123')
})

t.test('X-Mock-Admin is masked too', async (t) => {
  const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: 'admin-secret' })
  await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: { ...auth(), 'x-mock-admin': 'admin-secret' } })
  const [item] = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests', { headers: { 'x-mock-admin': 'admin-secret' } }), Journal)
  t.same(item?.headers, sent({ authorization: `Token *** (${ENV})`, 'x-mock-admin': '***' }))
  t.notMatch(JSON.stringify(item), 'admin-secret')
})

t.test('requests refused with 401 are journaled without a key: seen with ?all=1 only', async (t) => {
  const { app } = await testApp(t)
  const ok = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  const missing = await app.inject({ method: 'GET', url: '/v1/background_jobs' })
  const wrongScheme = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: { authorization: 'Basic abc', 'content-type': 'application/json' }, payload: '{"users":[]}' })
  t.same([ok.statusCode, missing.statusCode, wrongScheme.statusCode], [200, 401, 401])
  await expectJournal(t, app, [entry(ok, { method: 'GET', path: '/v1/background_jobs', headers: sent({ authorization: `Token *** (${ENV})` }) })])
  await expectJournal(t, app, [
    entry(wrongScheme, { key_id: null, method: 'POST', path: '/v1/users/bulk_identify', headers: sent({ authorization: 'Basic ***', 'content-type': 'application/json' }, 12) }),
    entry(missing, { key_id: null, method: 'GET', path: '/v1/background_jobs', headers: sent({}) }),
    entry(ok, { method: 'GET', path: '/v1/background_jobs', headers: sent({ authorization: `Token *** (${ENV})` }) })
  ], { key: null, query: '?all=1' })
})

t.test('unknown /v1 paths: 404 with or without a key, journaled under the key when it is valid', async (t) => {
  const { app } = await testApp(t)
  const keyed = await app.inject({ method: 'POST', url: '/v1/users/identify', headers: auth() })
  const bare = await app.inject({ method: 'GET', url: '/v1/nothing?x=1' })
  t.same([keyed.statusCode, bare.statusCode], [404, 404])
  t.equal(keyed.json<{ errors: Array<{ error_code: string }> }>().errors[0]?.error_code, 'route_not_found')
  await expectJournal(t, app, [entry(keyed, { method: 'POST', path: '/v1/users/identify', headers: sent({ authorization: `Token *** (${ENV})` }) })])
  await expectJournal(t, app, [
    entry(bare, { key_id: null, method: 'GET', path: '/v1/nothing?x=1', headers: sent({}) }),
    entry(keyed, { method: 'POST', path: '/v1/users/identify', headers: sent({ authorization: `Token *** (${ENV})` }) })
  ], { key: null, query: '?all=1' })
})

t.test('only /v1 requests are journaled', async (t) => {
  const { app } = await testApp(t)
  await app.inject({ method: 'GET', url: '/__mock/health' })
  await control(app, 'GET', '/users')
  await control(app, 'POST', '/faults', { payload: { status: 503, match: { path: '/v1/none' } } })
  await app.inject({ method: 'GET', url: '/documentation/json' })
  await expectJournal(t, app, [], { key: null, query: '?all=1' })
})

t.test('each key sees its own requests; ?all=1 sees every key\'s, newest first', async (t) => {
  const { app } = await testApp(t)
  const a1 = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  const b1 = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth(OTHER) })
  const a2 = await app.inject({ method: 'GET', url: '/v1/background_jobs?limit=1', headers: auth() })
  const mine = (res: LightMyRequestResponse, path = '/v1/background_jobs'): Expected => entry(res, { method: 'GET', path, headers: sent({ authorization: `Token *** (${ENV})` }) })
  const theirs = entry(b1, { key_id: OTHER_ENV, method: 'GET', path: '/v1/background_jobs', headers: sent({ authorization: `Token *** (${OTHER_ENV})` }) })
  await expectJournal(t, app, [mine(a2, '/v1/background_jobs?limit=1'), mine(a1)])
  await expectJournal(t, app, [theirs], { key: OTHER })
  await expectJournal(t, app, [mine(a2, '/v1/background_jobs?limit=1'), theirs, mine(a1)], { key: null, query: '?all=1' })
  await expectJournal(t, app, [theirs], { key: null, query: '?all=1&limit=1&offset=1' })
  await expectJournal(t, app, [mine(a1)], { query: '?limit=1&offset=1' })
  await expectJournal(t, app, [], { query: '?offset=2' })
})

t.test('MOCK_JOURNAL_SIZE bounds the journal: only the newest requests remain', async (t) => {
  const { app } = await testApp(t, { MOCK_JOURNAL_SIZE: 3 })
  const answers: LightMyRequestResponse[] = []
  for (let i = 0; i < 5; i++) answers.push(await app.inject({ method: 'GET', url: `/v1/background_jobs?offset=${i}`, headers: auth() }))
  const journal = await expectJournal(t, app, [4, 3, 2].map((i) => entry(answers[i] as LightMyRequestResponse, {
    method: 'GET', path: `/v1/background_jobs?offset=${i}`, headers: sent({ authorization: `Token *** (${ENV})` })
  })))
  t.same(journal.map((item) => item.id), [5, 4, 3])
})

t.test('MOCK_JOURNAL_SIZE 0 keeps nothing', async (t) => {
  const { app } = await testApp(t, { MOCK_JOURNAL_SIZE: 0 })
  await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  await expectJournal(t, app, [], { key: null, query: '?all=1' })
})

t.test('MOCK_JOURNAL_BODY_BYTES cuts long bodies and marks them', async (t) => {
  const { app } = await testApp(t, { MOCK_JOURNAL_BODY_BYTES: 20 })
  const bodies = [
    '{"users":[{"user_id":"a"}]}',
    '{"users":[{"user_id":""}]}',
    '{"users":[]}',
    '{"users":[{"a":1}]}',
    '{"users":[{"a":12}]}'
  ]
  for (const body of bodies) await bulkUsers(app, body)
  const journal = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests'), Journal)
  t.same(journal.map((item) => [item.body, item.body_bytes, item.body_truncated]).reverse(), [
    ['{"users":[{"user_id"', 27, true],
    ['{"users":[{"user_id"', 26, true],
    ['{"users":[]}', 12, false],
    ['{"users":[{"a":1}]}', 19, false],
    ['{"users":[{"a":12}]}', 20, false]
  ])
  t.same(journal.map((item) => item.status).reverse(), [202, 400, 400, 400, 400])
})

t.test('MOCK_JOURNAL_BODY_BYTES 0 keeps no body text, but the size', async (t) => {
  const { app } = await testApp(t, { MOCK_JOURNAL_BODY_BYTES: 0 })
  await bulkUsers(app, '{"users":[{"user_id":"a"}]}')
  const [item] = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests'), Journal)
  t.same([item?.body, item?.body_bytes, item?.body_truncated], ['', 27, true])
})

t.test('a body that is not valid JSON is journaled as received', async (t) => {
  const { app } = await testApp(t)
  const res = await bulkUsers(app, '{"users": [oops')
  t.equal(res.statusCode, 400)
  const [item] = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests'), Journal)
  t.same([item?.status, item?.body, item?.body_bytes, item?.body_truncated], [400, '{"users": [oops', 15, false])
})

t.test('faulted requests are journaled with the status they got', async (t) => {
  const { app } = await testApp(t)
  await control(app, 'POST', '/faults', { payload: { status: 503, times: 1 } })
  const faulted = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  const normal = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  await expectJournal(t, app, [
    entry(normal, { method: 'GET', path: '/v1/background_jobs', headers: sent({ authorization: `Token *** (${ENV})` }) }),
    entry(faulted, { status: 503, method: 'GET', path: '/v1/background_jobs', headers: sent({ authorization: `Token *** (${ENV})` }) })
  ])
})

t.test('an NDJSON upload is journaled with its file (the rows as sent) and the file size', async (t) => {
  const { app } = await testApp(t)
  const content = '{"user_id":"a"}\n{"user_id":"b"}\n'
  const res = await uploadNdjson(app, 'users', content)
  t.equal(res.statusCode, 202)
  const [item] = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests'), Journal)
  t.equal(item?.headers['content-type'], `multipart/form-data; boundary=${BOUNDARY}`)
  t.equal(item?.body_bytes, Buffer.byteLength(content), 'body_bytes is the size of the file received')
  t.equal(item?.body, content, 'the file as received')
  t.equal(item?.body_truncated, false)
})

t.test('repeated request headers are kept, joined', async (t) => {
  const { app } = await testApp(t)
  const res = await rawRequest(app, [
    'GET /v1/background_jobs HTTP/1.1',
    'Host: mock.test',
    `Authorization: Token ${KEY}`,
    'Set-Cookie: a=1',
    'Set-Cookie: b=2',
    'X-Dup: 1',
    'X-Dup: 2',
    'Connection: close',
    '',
    ''
  ].join('\r\n'))
  t.equal(res.statusCode, 200)
  const [item] = expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests'), Journal)
  t.same(item?.headers, { host: 'mock.test', authorization: `Token *** (${ENV})`, 'set-cookie': 'a=1, b=2', 'x-dup': '1, 2', connection: 'close' })
  t.equal(item?.request_id, res.headers['x-request-id'])
})
