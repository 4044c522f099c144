import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { ErrorEnvelope } from '../schemas/errors.js'
import { connectMock, MockControlError, startMock, type MockServer, type StartMockOptions } from '../src/index.js'
import { assertSchema, users } from './helpers/app.js'

const KEY = 'client-key'
const OTHER = 'client-key-2'

async function started (t: Test, options?: StartMockOptions): Promise<MockServer> {
  const mock = await startMock(options)
  t.teardown(() => mock.close())
  return mock
}

/** A bulk users request over HTTP; returns the job id. */
async function submit (url: string, rows: Array<Record<string, unknown>>, key = KEY): Promise<string> {
  const res = await fetch(`${url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users: rows })
  })
  if (res.status !== 202) throw new Error(`bulk request answered ${res.status}`)
  return (await res.json() as { job_id: string }).job_id
}

/** The MockControlError a call throws. */
async function controlError (t: Test, call: Promise<unknown>): Promise<MockControlError> {
  const error = await call.then(() => undefined, (error: unknown) => error)
  t.ok(error instanceof MockControlError, 'a MockControlError')
  assertSchema(t, ErrorEnvelope, (error as MockControlError).body, 'its body is an ErrorEnvelope')
  return error as MockControlError
}

/** An HTTP server that answers every request with this status and body. */
async function answering (t: Test, status: number, body: string): Promise<string> {
  const server: Server = createServer((_request, response) => { response.writeHead(status).end(body) })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => { server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

t.test('every read answers over HTTP what the in-process accessor answers', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' } })
  const client = connectMock(mock.url)
  const first = await submit(mock.url, [{ user_id: 'ada', company_id: 'acme', metadata: { plan: 'pro' } }, { user_id: 'bob' }])
  await submit(mock.url, users(1), OTHER)
  await mock.flush(KEY)
  const companies = await fetch(`${mock.url}/v1/companies/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ companies: [{ company_id: 'acme', metadata: { tier: 'gold' } }] })
  })
  t.equal(companies.status, 202)
  await mock.flush(KEY)

  t.equal(client.url, mock.url)
  t.same(await client.users(KEY), await mock.users(KEY))
  t.equal((await client.users(KEY)).length, 2)
  t.same(await client.users(KEY, { companyId: 'acme' }), await mock.users(KEY, { companyId: 'acme' }))
  t.same(await client.users(KEY, { companyId: 'a&b=c' }), [], 'the filter is encoded')
  t.same(await client.user(KEY, 'ada'), await mock.user(KEY, 'ada'))
  t.equal(await client.user(KEY, 'nobody'), undefined, '404 is undefined')
  t.same(await client.companies(KEY), await mock.companies(KEY))
  t.equal((await client.companies(KEY)).length, 1)
  t.same(await client.jobs(KEY), await mock.jobs(KEY))
  t.same(await client.job(KEY, first), await mock.job(KEY, first))
  t.equal(await client.job(OTHER, first), undefined, 'another key\'s job is not found')
  t.same(await client.requests(KEY), await mock.requests(KEY))
  t.same(await client.requests(), await mock.requests(), 'without a key: every key')
  t.equal((await client.requests()).length, 3)
})

t.test('events and their filters read over HTTP what the in-process accessor reads', async (t) => {
  const mock = await started(t)
  const client = connectMock(mock.url)
  const send = async (path: string, body: unknown, version = '2020-09-22'): Promise<void> => {
    const res = await fetch(`${mock.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json', ...(version === '' ? {} : { 'x-api-version': version }) },
      body: JSON.stringify(body)
    })
    t.equal(res.status, 202, path)
  }
  await send('/v1/identify', { user_id: 'ada', company: { id: 'acme' } })
  await send('/v1/track', { user_id: 'ada', event_name: 'signed_up' })
  await send('/v1/track', { user_id: 'bob', event_name: 'paid' }, '')
  t.equal((await client.events(KEY)).length, 3)
  const warned = await client.requests(KEY, { warnings: true })
  t.same(warned, await mock.requests(KEY, { warnings: true }))
  t.same(warned.map((entry) => entry.path), ['/v1/track'], 'only the request without X-API-Version')
  t.same(await client.events(KEY), await mock.events(KEY))
  for (const filter of [{ userId: 'ada' }, { companyId: 'acme' }, { eventType: 'track' as const }, { eventName: 'paid' }, { userId: 'ada', eventName: 'signed_up' }]) {
    const events = await client.events(KEY, filter)
    t.same(events, await mock.events(KEY, filter), JSON.stringify(filter))
    t.ok(events.length > 0 && events.length < 3, `${JSON.stringify(filter)} narrows the list`)
  }
})

t.test('every change made over HTTP is the one the in-process accessor makes', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' } })
  const client = connectMock(`${mock.url}/`)
  t.equal(client.url, mock.url, 'a trailing slash is dropped')
  const first = await submit(mock.url, users(2))
  const second = await submit(mock.url, users(1))
  const theirs = await submit(mock.url, users(1), OTHER)

  t.same((await client.advance(KEY, first)).history.map((change) => change.status), ['queued', 'validating'])
  t.equal((await client.advance(KEY, first, 'completed')).status, 'completed')
  t.same([(await client.fail(KEY, second, 'processing')).fail_at, (await mock.job(KEY, second))?.fail_at], ['processing', 'processing'])
  t.equal(await client.flush(KEY), 1)
  t.equal((await mock.job(KEY, second))?.status, 'failed')
  t.equal((await mock.job(OTHER, theirs))?.status, 'queued', 'the other key waits')
  t.equal(await client.flush(), 1, 'without a key: every key')
  t.equal((await client.fail(OTHER, await submit(mock.url, users(1), OTHER))).status, 'failed', 'fail() without a stage: now')

  t.same((await client.addFault(KEY, { status: 503 })).map((fault) => fault.status), [503])
  t.same((await client.addFault(KEY, [{ status: 429, times: 2 }, { match: { path: '/v1/background_jobs' }, delay_ms: 1 }])).map((fault) => fault.times_left), [2, 1])
  await client.addFault(OTHER, { status: 500 })
  await client.clearFaults(KEY)
  t.equal((await mock.app.inject({ method: 'GET', url: '/__mock/faults?all=1' })).json<unknown[]>().length, 1, 'the other key keeps its fault')
  await client.clearFaults()
  t.same((await mock.app.inject({ method: 'GET', url: '/__mock/faults?all=1' })).json(), [], 'without a key: every key')

  await client.reset(KEY)
  t.same(await mock.jobs(KEY), [])
  t.not((await mock.jobs(OTHER)).length, 0, 'the other key keeps its jobs')
  await client.reset()
  t.same(await mock.jobs(OTHER), [], 'without a key: every key')
})

t.test('more than a page of users: every one is listed', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  await submit(mock.url, users(1001))
  await mock.flush(KEY)
  const listed = await connectMock(mock.url).users(KEY)
  t.equal(listed.length, 1001)
  t.equal(listed[1000]?.user_id, 'u1000')
})

t.test('errors are MockControlErrors with the mock\'s envelope', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual', MOCK_API_KEYS: KEY } })
  const client = connectMock(mock.url)
  const jobId = await submit(mock.url, users(1))
  await client.advance(KEY, jobId, 'completed')
  const finished = await controlError(t, client.advance(KEY, jobId))
  t.same([finished.statusCode, finished.body.errors[0]?.error_code], [409, 'job_finished'])
  t.equal(finished.message, `409: Job ${jobId} has already completed; it cannot move any more.`)
  const refused = await controlError(t, client.user('not-accepted', 'u1'))
  t.same([refused.statusCode, refused.body.errors[0]?.error_code], [401, 'invalid_api_key'], 'a lookup refused otherwise than 404 throws')
  t.equal((await controlError(t, client.job('not-accepted', 'j1'))).statusCode, 401)
})

t.test('an answer that is no envelope is wrapped in one', async (t) => {
  const text = await controlError(t, connectMock(await answering(t, 502, 'Bad Gateway')).jobs(KEY))
  t.same(text.body.errors, [{ error: 'http_error', error_code: 'http_502', message: 'Bad Gateway', details: 'the answer was not an error envelope' }])
  const json = await controlError(t, connectMock(await answering(t, 500, '{"message":"boom"}')).jobs(KEY))
  t.same([json.statusCode, json.body.errors[0]?.error_code, json.body.errors[0]?.message], [500, 'http_500', '{"message":"boom"}'])
})

t.test('with MOCK_ADMIN_TOKEN: refused without the token, served with it', async (t) => {
  const mock = await started(t, { config: { MOCK_ADMIN_TOKEN: 'admin-secret' } })
  const refused = await controlError(t, connectMock(mock.url).jobs(KEY))
  t.same([refused.statusCode, refused.body.errors[0]?.error_code], [401, 'missing_admin_token'])
  const client = connectMock(mock.url, { adminToken: 'admin-secret' })
  await submit(mock.url, users(1))
  t.equal((await client.jobs(KEY)).length, 1)
  t.equal((await client.requests()).length, 1)
})

t.test('exports and lookups through the typed calls', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const client = connectMock(mock.url)
  const create = async (key: string): Promise<string> => {
    const res = await fetch(`${mock.url}/api/v1/analytics/exports`, { method: 'POST', headers: { authorization: `Token ${key}` } })
    return (await res.json() as { job_id: string }).job_id
  }
  const first = await create(KEY)
  t.equal((await client.advanceExport(KEY, first)).status, 'processing')
  t.match(await client.advanceExport(KEY, first, 'completed'), { status: 'completed', chunks: [{ number: 1, events: 0 }] })
  const second = await create(KEY)
  t.equal((await mock.failExport(KEY, second)).status, 'failed')
  const theirs = await create(OTHER)
  t.same((await client.exports(KEY)).map((job) => job.job_id), [second, first], 'newest first')
  t.same((await client.exports()).map((job) => job.job_id).sort(), [first, second, theirs].sort(), 'without a key: every key')
  await client.setLookup(KEY, 'flows', [{ id: 1, title: 'Onboarding' }])
  const flows = await fetch(`${mock.url}/api/v1/analytics/exports/lookups/flows`, { headers: { authorization: `Token ${KEY}` } })
  t.same(await flows.json(), [{ id: 1, title: 'Onboarding' }])
  await mock.isolate({ key: OTHER }).setLookup('segments', [{ id: 7 }])
  t.equal((await controlError(t, client.setLookup(KEY, 'user_properties' as 'flows', []))).statusCode, 400)
})
