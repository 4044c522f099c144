import t, { type Test } from 'tap'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { createServer, type AddressInfo } from 'node:net'
import { Fault, JournalEntry, MockCompany, MockDeletion, MockEvent, MockJob, MockUser } from '../schemas/control.js'
import { ErrorEnvelope } from '../schemas/errors.js'
import { ManualClock, MockControlError, startMock, type MockServer, type StartMockOptions } from '../src/index.js'
import type { SystemClock } from '../src/clock.js'
import { tenantOf } from '../src/tenant.js'
import { assertSchema, users } from './helpers/app.js'
import { logSink } from './helpers/http.js'
import { freePort } from './helpers/redis.js'

const KEY = 'lib-key'
const OTHER = 'lib-key-2'
const ENV = tenantOf(KEY).envId

async function started (t: Test, options?: StartMockOptions): Promise<MockServer> {
  const mock = await startMock(options)
  t.teardown(() => mock.close())
  return mock
}

/** A bulk users request over real HTTP; returns the job id. */
async function submit (t: Test, mock: MockServer, rows: Array<Record<string, unknown>>, key = KEY, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(`${mock.url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ users: rows })
  })
  t.equal(res.status, 202, 'accepted')
  return (await res.json() as { job_id: string }).job_id
}

function each<T> (t: Test, schema: Parameters<typeof assertSchema>[1], items: T[]): T[] {
  for (const item of items) assertSchema(t, schema, item)
  return items
}

/** Catches the MockControlError a call throws. */
async function controlError (t: Test, call: Promise<unknown>): Promise<MockControlError> {
  try {
    await call
  } catch (error) {
    t.ok(error instanceof MockControlError, 'a MockControlError')
    assertSchema(t, ErrorEnvelope, (error as MockControlError).body, 'its body is an ErrorEnvelope')
    return error as MockControlError
  }
  t.fail('the call did not throw')
  throw new Error('unreachable')
}

/** GET over a fresh connection (no keep-alive agent); resolves once the socket has closed. */
async function getOnce (url: string, headers: Record<string, string> = {}, body?: string): Promise<number> {
  const req = httpRequest(url, { agent: false, method: body === undefined ? 'GET' : 'POST', headers })
  req.end(body)
  const [res] = await once(req, 'response') as [import('node:http').IncomingMessage]
  res.resume()
  const closed = once(req.socket as NonNullable<typeof req.socket>, 'close')
  await once(res, 'end')
  await closed
  return res.statusCode as number
}

function resourceCounts (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

// First in this file, so that no socket of another test is still closing while it counts.
t.test('starting and closing 50 mocks leaks no handles', async (t) => {
  await new Promise((resolve) => setImmediate(resolve))
  const before = resourceCounts()
  for (let i = 0; i < 50; i++) {
    const mock = await startMock()
    t.equal(await getOnce(`${mock.url}/__mock/health`), 200)
    const status = await getOnce(`${mock.url}/v1/users/bulk_identify`, { authorization: `Token ${KEY}`, 'content-type': 'application/json' }, JSON.stringify({ users: users(2) }))
    t.equal(status, 202)
    t.equal((mock.app.mock.clock as SystemClock).pending, 1, 'a job timer while running')
    await mock.close()
    t.equal((mock.app.mock.clock as SystemClock).pending, 0, 'no timer after close')
    t.equal(mock.app.server.listening, false)
  }
  // A closed server's handle is released a turn or two of the event loop after close() resolves.
  for (let turn = 0; turn < 20 && JSON.stringify(resourceCounts()) !== JSON.stringify(before); turn++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.same(resourceCounts(), before, 'the same active resources as before')
})

t.test('startMock listens on a free port by default; url works with fetch; close() stops it', async (t) => {
  const mock = await startMock()
  const second = await startMock()
  t.teardown(() => second.close())
  t.ok(mock.port > 0, 'a real port')
  t.not(mock.port, second.port, 'each mock gets its own port')
  t.equal(mock.url, `http://127.0.0.1:${mock.port}`)
  t.equal((mock.app.server.address() as AddressInfo).port, mock.port)
  const res = await fetch(`${mock.url}/__mock/health`)
  t.equal(res.status, 200)
  t.match(await res.json(), { status: 'ok' })
  await mock.close()
  await t.rejects(fetch(`${mock.url}/__mock/health`), { message: 'fetch failed' }, 'closed')
})

t.test('isolate() binds the accessors to a fresh key of this mock', async (t) => {
  // A manual clock: the job stays where it is between the two reads.
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const view = mock.isolate({ prefix: 'slow' })
  t.match(view.key, /^slow/)
  t.equal(view.url, mock.url)
  const res = await fetch(`${mock.url}/v1/users/bulk_identify`, { method: 'POST', headers: { ...view.headers, 'content-type': 'application/json' }, body: '{"users":[{"user_id":"ada"}]}' })
  t.equal(res.status, 202)
  t.same(await view.jobs(), await mock.jobs(view.key))
  t.equal((await view.jobs()).length, 1)
})

t.test('an explicit port and host', async (t) => {
  const port = await freePort()
  const mock = await started(t, { port, host: '127.0.0.1' })
  t.equal(mock.port, port)
  t.equal(mock.url, `http://127.0.0.1:${port}`)
})

t.test('an IPv6 host is bracketed in the url', async (t) => {
  const probe = createServer()
  const available = await new Promise<boolean>((resolve) => {
    probe.once('error', () => resolve(false))
    probe.listen(0, '::1', () => { probe.close(() => resolve(true)) })
  })
  t.test('on ::1', { skip: available ? false : 'no IPv6 loopback here' }, async (t) => {
    const mock = await started(t, { host: '::1' })
    t.equal(mock.url, `http://[::1]:${mock.port}`)
    t.equal((await fetch(`${mock.url}/__mock/health`)).status, 200)
  })
})

t.test('logs are off by default; a logger can be given', async (t) => {
  const sink = logSink()
  const mock = await started(t, { logger: { level: 'info', stream: sink.stream } })
  await fetch(`${mock.url}/__mock/health`).then(async (res) => await res.arrayBuffer())
  t.ok(sink.lines.some((line) => line.msg === 'request' && line.url === '/__mock/health'), 'the request was logged')
})

t.test('accessors per key: jobs, job, advance, fail, flush, users, user, companies', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' } })
  const first = await submit(t, mock, [{ user_id: 'ada', company_id: 'acme', metadata: { plan: 'pro' } }, { user_id: 'bob' }])
  const second = await submit(t, mock, [{ user_id: 'cy', company_id: 'acme' }])
  const theirs = await submit(t, mock, users(1), OTHER)

  const jobs = each(t, MockJob, await mock.jobs(KEY))
  t.same(jobs.map((job) => [job.job_id, job.status]), [[second, 'queued'], [first, 'queued']])
  const job = await mock.job(KEY, first)
  assertSchema(t, MockJob, job)
  t.equal(job?.key_id, ENV)
  t.equal(await mock.job(KEY, theirs), undefined, 'another key\'s job is not found')
  t.equal(await mock.job(KEY, 'nope'), undefined)

  const moved = await mock.advance(KEY, first)
  assertSchema(t, MockJob, moved)
  t.same(moved.history.map((change) => change.status), ['queued', 'validating'])
  const done = await mock.advance(KEY, first, 'completed')
  t.same([done.status, done.completed_rows], ['completed', 2])

  const failing = await mock.fail(KEY, second, 'processing')
  t.same([failing.status, failing.fail_at], ['queued', 'processing'])
  t.equal(await mock.flush(KEY), 1, 'one job was pending for this key')
  t.equal((await mock.job(KEY, second))?.status, 'failed')
  t.equal((await mock.job(OTHER, theirs))?.status, 'queued', 'the other key waits')
  t.equal(await mock.flush(), 1, 'flush() without a key: every key')
  t.equal((await mock.job(OTHER, theirs))?.status, 'completed')
  t.equal(await mock.flush(), 0)

  const stored = each(t, MockUser, await mock.users(KEY))
  t.same(stored.map((user) => [user.user_id, user.company_id, user.metadata]), [['ada', 'acme', { plan: 'pro' }], ['bob', null, {}]])
  t.same((await mock.users(KEY, { companyId: 'acme' })).map((user) => user.user_id), ['ada'])
  t.same(await mock.users(KEY, { companyId: 'a&b=c' }), [], 'the filter is encoded')
  const ada = await mock.user(KEY, 'ada')
  assertSchema(t, MockUser, ada)
  t.equal(ada?.last_job_id, first)
  t.equal(await mock.user(KEY, 'cy'), undefined, 'the failed job applied nothing')
  t.equal(await mock.user(OTHER, 'ada'), undefined)
  t.same(each(t, MockCompany, await mock.companies(KEY)), [])

  const other = await mock.fail(OTHER, await submit(t, mock, users(1), OTHER))
  t.equal(other.status, 'failed', 'fail() without a stage: now')
})

t.test('accessors: requests, addFault, clearFaults, reset', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  await submit(t, mock, users(1))
  await fetch(`${mock.url}/v1/background_jobs`, { headers: { authorization: `Token ${OTHER}` } }).then(async (res) => await res.arrayBuffer())
  await fetch(`${mock.url}/v1/background_jobs`).then(async (res) => await res.arrayBuffer())

  const mine = each(t, JournalEntry, await mock.requests(KEY))
  t.same(mine.map((entry) => [entry.method, entry.path, entry.status]), [['POST', '/v1/users/bulk_identify', 202]])
  const all = each(t, JournalEntry, await mock.requests())
  t.same(all.map((entry) => [entry.key_id, entry.status]), [[null, 401], [tenantOf(OTHER).envId, 200], [ENV, 202]], 'requests() without a key: every key, and the refused ones')

  const added = each(t, Fault, await mock.addFault(KEY, { status: 503 }))
  t.same(added.map((fault) => [fault.match, fault.times_left, fault.status]), [[{ method: null, path: null }, 1, 503]], 'match and times may be left out')
  const many = each(t, Fault, await mock.addFault(KEY, [{ status: 429, times: 2 }, { match: { path: '/v1/background_jobs' }, delay_ms: 1 }]))
  t.equal(many.length, 2, 'an array adds each rule')
  await mock.addFault(OTHER, { status: 500 })
  const faulted = await fetch(`${mock.url}/v1/background_jobs`, { headers: { authorization: `Token ${KEY}` } })
  t.equal(faulted.status, 503)
  await faulted.arrayBuffer()
  await mock.clearFaults(KEY)
  t.equal((await fetch(`${mock.url}/v1/background_jobs`, { headers: { authorization: `Token ${KEY}` } })).status, 200)
  t.equal((await mock.app.inject({ method: 'GET', url: '/__mock/faults?all=1' })).json<unknown[]>().length, 1, 'the other key keeps its fault')
  await mock.clearFaults()
  t.same((await mock.app.inject({ method: 'GET', url: '/__mock/faults?all=1' })).json(), [], 'clearFaults() without a key: every key')

  await mock.reset(KEY)
  t.same(await mock.jobs(KEY), [])
  t.same(await mock.requests(KEY), [])
  t.not((await mock.requests()).length, 0, 'other entries stay')
  await mock.reset()
  t.same(await mock.requests(), [], 'reset() without a key: everything')
})

t.test('errors are thrown as MockControlError with the status and the envelope', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const jobId = await submit(t, mock, users(1))
  await mock.advance(KEY, jobId, 'completed')
  const finished = await controlError(t, mock.advance(KEY, jobId))
  t.equal(finished.statusCode, 409)
  t.equal(finished.name, 'MockControlError')
  t.equal(finished.body.errors[0]?.error_code, 'job_finished')
  t.equal(finished.message, `409: Job ${jobId} has already completed; it cannot move any more.`)
  const backwards = await controlError(t, mock.fail(KEY, jobId, 'processing'))
  t.equal(backwards.statusCode, 409)
  const unknown = await controlError(t, mock.advance(KEY, 'nope'))
  t.same([unknown.statusCode, unknown.body.errors[0]?.error_code], [404, 'job_not_found'], 'advance does not turn a 404 into undefined')
  const invalid = await controlError(t, mock.addFault(KEY, { status: 700 }))
  t.same([invalid.statusCode, invalid.body.errors[0]?.error_code], [400, 'invalid_body'])
})

t.test('lookups that fail otherwise than 404 still throw', async (t) => {
  const mock = await started(t, { config: { MOCK_API_KEYS: KEY } })
  const refused = await controlError(t, mock.user('not-accepted', 'u1'))
  t.same([refused.statusCode, refused.body.errors[0]?.error_code], [401, 'invalid_api_key'])
  const job = await controlError(t, mock.job('not-accepted', 'j1'))
  t.equal(job.statusCode, 401)
})

t.test('more than a page of users: every one is listed', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  await submit(t, mock, users(1001))
  t.equal(await mock.flush(KEY), 1)
  const listed = await mock.users(KEY)
  t.equal(listed.length, 1001)
  t.equal(listed[1000]?.user_id, 'u1000')
})

t.test('with MOCK_ADMIN_TOKEN the accessors still work', async (t) => {
  const mock = await started(t, { config: { MOCK_ADMIN_TOKEN: 'admin-secret', MOCK_CLOCK: 'manual' } })
  const jobId = await submit(t, mock, users(2))
  t.equal((await fetch(`${mock.url}/__mock/jobs`, { headers: { authorization: `Token ${KEY}` } })).status, 401, 'plain HTTP needs the token')
  t.equal((await mock.jobs(KEY)).length, 1)
  t.equal((await mock.advance(KEY, jobId, 'completed')).status, 'completed')
  t.equal((await mock.users(KEY)).length, 2)
  t.equal((await mock.requests()).length, 1)
  await mock.addFault(KEY, { status: 503 })
  await mock.clearFaults()
  await mock.reset()
  t.same(await mock.jobs(KEY), [])
})

t.test('a ManualClock drives job time', async (t) => {
  const clock = new ManualClock()
  const mock = await started(t, { clock, config: { MOCK_STAGE_MS: 100 } })
  const jobId = await submit(t, mock, users(1))
  await clock.advance(100)
  t.equal((await mock.job(KEY, jobId))?.status, 'validating')
  await clock.runAll()
  t.equal((await mock.job(KEY, jobId))?.status, 'completed')
})

t.test('events, deletions and warnings through the library', async (t) => {
  const clock = new ManualClock()
  const mock = await started(t, { clock })
  const send = async (method: string, path: string, body: unknown, headers: Record<string, string> = { 'x-api-version': '2020-09-22' }): Promise<number> =>
    (await fetch(`${mock.url}${path}`, { method, headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })).status
  t.equal(await send('POST', '/v1/identify', { user_id: 'u1', company: { id: 'c1' } }), 202)
  t.equal(await send('POST', '/v1/track', { user_id: 'u1', event_name: 'Clicked', metadata: { n: 1 } }, {}), 202)
  t.equal(await send('POST', '/v1/companies/identify', { company_id: 'c2' }), 202)
  const events = each(t, MockEvent, await mock.events(KEY))
  t.strictSame(events.map((event) => event.event_type), ['identify_company', 'track', 'identify_user'])
  t.strictSame((await mock.events(KEY, { eventType: 'track', userId: 'u1', companyId: 'c1', eventName: 'Clicked' })).map((event) => event.metadata), [{ n: 1 }], 'every filter')
  t.strictSame(await mock.events(KEY, { eventName: 'nope' }), [])
  t.strictSame(await mock.events(OTHER), [], 'per key')
  t.strictSame((await mock.requests(KEY, { warnings: true })).map((entry) => entry.warnings.map((warning) => warning.code)), [['missing_api_version']])
  t.equal((await mock.requests(KEY)).length, 3)
  t.equal(await send('DELETE', '/v1/users', { users: ['u1'] }), 202)
  t.strictSame(each(t, MockDeletion, await mock.deletions(KEY)), [{ key_id: ENV, type: 'users', id: 'u1', deletion_scheduled_at: '2025-05-20T02:00:00.000Z' }])
  t.equal(await mock.flush(KEY), 0, 'no job to finish…')
  t.equal(await mock.user(KEY, 'u1'), undefined, '…but the deletion was carried out')
  t.strictSame(await mock.deletions(KEY), [])
})
