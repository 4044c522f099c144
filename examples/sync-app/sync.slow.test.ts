// The example app against the in-process mock: batching, backoff, waiting out
// a running job, failed jobs. Time never passes for real: the mock's clock is
// manual, and the app's injected sleep records what it was asked to wait and
// moves the mock's jobs on instead.
import t, { type Test } from 'tap'
import { startMock, type MockServer } from '../../src/index.js'
import { MAX_BATCH, demoUsers, retryDelay, syncUsers, type SyncOptions } from './sync.js'

const BULK = { method: 'POST', path: '/v1/users/bulk_identify' }

/** A sleep that records each wait and, instead of waiting, runs the key's pending jobs to their end. */
function flushingSleep (mock: MockServer, key: string): { sleeps: number[], sleep: NonNullable<SyncOptions['sleep']> } {
  const sleeps: number[] = []
  return { sleeps, sleep: async (ms) => { sleeps.push(ms); await mock.flush(key) } }
}

async function manualMock (t: Test): Promise<MockServer> {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())
  return mock
}

t.test('25,000 users go in three batches, and every one arrives', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-25k'
  const { sleeps, sleep } = flushingSleep(mock, key)

  const summary = await syncUsers(demoUsers(25_000), { baseUrl: mock.url, apiKey: key, sleep })

  t.match(summary, { ok: true, users: 25_000, batches: 3, completed: 3, failed: 0, completedRows: 25_000 })
  t.same(summary.reports.map((report) => [report.batch, report.users, report.status, report.completedRows, report.requests]),
    [[1, 10_000, 'completed', 10_000, 1], [2, 10_000, 'completed', 10_000, 1], [3, 5_000, 'completed', 5_000, 1]])
  t.ok(summary.reports.every((report) => report.jobId?.startsWith('bulk:jobs:') === true && report.error === undefined))
  t.same(sleeps, [1000, 1000, 1000], 'one poll interval per job: queued, then completed after the flush')

  const users = await mock.users(key)
  t.equal(users.length, 25_000)
  t.match(await mock.user(key, 'demo-user-1'), { company_id: 'demo-company-1', metadata: { name: 'Demo User 1', plan: 'pro', seats: 1, beta: true } })
  t.match(await mock.user(key, 'demo-user-10001'), { company_id: 'demo-company-1', metadata: { plan: 'free', seats: 5, beta: true }, last_job_id: summary.reports[1]?.jobId })
  t.match(await mock.user(key, 'demo-user-25000'), { company_id: 'demo-company-50', metadata: { name: 'Demo User 25000', plan: 'pro', seats: 3, beta: false }, last_job_id: summary.reports[2]?.jobId })
  const posts = (await mock.requests(key)).filter((entry) => entry.method === 'POST')
  t.same(posts.map((entry) => entry.status), [202, 202, 202])
})

t.test('429, 503 and dropped connections are retried with backoff that honours Retry-After', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-faults'
  const { sleeps, sleep } = flushingSleep(mock, key)
  await mock.addFault(key, [
    { match: BULK, times: 2, status: 429 }, // the mock adds Retry-After: 1
    { match: BULK, status: 503, headers: { 'retry-after': '0' } },
    { match: BULK, status: 503, headers: { 'retry-after': 'soon' } }, // not seconds: backoff
    { match: BULK, drop_connection: true },
    { match: { method: 'GET', path: '/v1/background_jobs/*' }, status: 503, headers: { 'retry-after': '2' } }
  ])

  const summary = await syncUsers(demoUsers(30), { baseUrl: `${mock.url}/`, apiKey: key, sleep, batchSize: 10, backoffMs: 100, maxBackoffMs: 1000, pollIntervalMs: 5 })

  t.match(summary, { ok: true, batches: 3, completed: 3, completedRows: 30 })
  t.same(summary.reports.map((report) => report.requests), [6, 1, 1])
  t.same(sleeps, [
    1000, 1000, // 429 twice: Retry-After 1
    0, // 503, Retry-After 0
    800, // 503 on attempt 4 without usable Retry-After: 100 ms * 2^3
    1000, // no answer on attempt 5: 100 ms * 2^4, capped at 1000
    2000, // the first status poll got 503 with Retry-After 2 (this sleep flushed the job: completed at the next poll)
    5, 5 // one poll interval for each of the other two jobs
  ])
  t.equal((await mock.users(key)).length, 30)
  t.same((await mock.requests(key)).filter((entry) => entry.method === 'POST').map((entry) => entry.status).reverse(), [429, 429, 503, 503, 0, 202, 202, 202],
    'the dropped request is journaled with status 0')
})

t.test('retries are capped: a batch that keeps getting 503 is reported failed, the next one is still sent', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-capped'
  const { sleeps, sleep } = flushingSleep(mock, key)
  await mock.addFault(key, { match: BULK, times: 3, status: 503 })

  const summary = await syncUsers(demoUsers(4), { baseUrl: mock.url, apiKey: key, sleep, batchSize: 2, maxAttempts: 3, pollIntervalMs: 7 })

  t.match(summary, { ok: false, batches: 2, completed: 1, failed: 1, completedRows: 2 })
  t.match(summary.reports[0], { status: 'failed', jobId: null, requests: 3, error: 'POST /v1/users/bulk_identify answered 503; gave up after 3 attempts' })
  t.match(summary.reports[1], { status: 'completed', completedRows: 2 })
  t.same(sleeps, [1000, 1000, 7])
  t.same((await mock.users(key)).map((user) => user.user_id), ['demo-user-3', 'demo-user-4'])
})

t.test('409: the app waits for the running job, then sends the batch again', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-conflict'
  const blocker = await fetch(`${mock.url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users: [{ user_id: 'someone-else', metadata: { source: 'another app' } }] })
  })
  t.equal(blocker.status, 202)
  const { job_id: blockerId } = await blocker.json() as { job_id: string }
  const { sleeps, sleep } = flushingSleep(mock, key)

  const summary = await syncUsers(demoUsers(3), { baseUrl: mock.url, apiKey: key, sleep, pollIntervalMs: 250 })

  t.match(summary, { ok: true, completed: 1, completedRows: 3 })
  t.match(summary.reports[0], { status: 'completed', requests: 2, waitedFor: [blockerId] })
  t.not(summary.reports[0]?.jobId, blockerId)
  t.same(sleeps, [250, 250], 'one poll of the running job, one of its own')
  t.same((await mock.requests(key)).filter((entry) => entry.method === 'POST').map((entry) => entry.status).reverse(), [202, 409, 202])
  t.equal((await mock.users(key)).length, 4)
  t.match(await mock.job(key, blockerId), { status: 'completed' })
})

t.test('409: waiting is capped too', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-conflict-capped'
  await fetch(`${mock.url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users: [{ user_id: 'someone-else' }] })
  })
  const { sleeps, sleep } = flushingSleep(mock, key)
  const summary = await syncUsers(demoUsers(1), { baseUrl: mock.url, apiKey: key, sleep, maxConflicts: 0 })
  t.match(summary.reports[0], { status: 'failed', requests: 1, waitedFor: [], error: 'another job was still running after waiting for 0 jobs' })
  t.same(sleeps, [])
})

t.test('a job that fails is reported failed; the other batches go on', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-job-fails'
  const sleeps: number[] = []
  // The first wait fails the running job (as the service may); later waits let jobs finish.
  const sleep = async (ms: number): Promise<void> => {
    sleeps.push(ms)
    if (sleeps.length === 1) {
      const [job] = await mock.jobs(key)
      await mock.fail(key, job?.job_id as string)
    }
    await mock.flush(key)
  }

  const summary = await syncUsers(demoUsers(6), { baseUrl: mock.url, apiKey: key, sleep, batchSize: 3 })

  t.match(summary, { ok: false, batches: 2, completed: 1, failed: 1, completedRows: 3 })
  const [first, second] = summary.reports
  t.match(first, { status: 'failed', completedRows: 0, error: `job ${first?.jobId} failed` })
  t.match(second, { status: 'completed', completedRows: 3 })
  t.same((await mock.users(key)).map((user) => user.user_id), ['demo-user-4', 'demo-user-5', 'demo-user-6'])
})

t.test('a job that never ends is given up after maxPolls', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-stuck'
  const sleeps: number[] = []
  const summary = await syncUsers(demoUsers(2), { baseUrl: mock.url, apiKey: key, sleep: async (ms) => { sleeps.push(ms) }, maxPolls: 3, pollIntervalMs: 10 })
  t.match(summary.reports[0], { status: 'failed', error: /^job bulk:jobs:\S+ is still queued after 3 polls$/ })
  t.same(sleeps, [10, 10])
})

t.test('answers the app cannot use fail the batch with what the API said', async (t) => {
  const mock = await manualMock(t)
  const key = 'sync-odd-answers'
  const { sleep } = flushingSleep(mock, key)
  await mock.addFault(key, [
    { match: BULK, status: 409 }, // an error code other than job_in_progress
    { match: BULK, status: 409, body: { errors: [{ error_code: 'job_in_progress', message: 'busy', details: 42 }] } }, // no job id
    { match: BULK, status: 400, body: null },
    { match: BULK, status: 400, body: {} },
    { match: BULK, status: 400, body: { errors: [] } },
    { match: { method: 'GET', path: '/v1/background_jobs/*' }, status: 404 }
  ])

  const summary = await syncUsers(demoUsers(6), { baseUrl: mock.url, apiKey: key, sleep, batchSize: 1 })

  t.match(summary, { ok: false, completed: 0, failed: 6 })
  t.match(summary.reports.map((report) => report.error), [
    /^POST \/v1\/users\/bulk_identify answered 409: Fault injected by the mock/,
    'POST /v1/users/bulk_identify answered 409: busy',
    'POST /v1/users/bulk_identify answered 400: (no message)',
    'POST /v1/users/bulk_identify answered 400: (no message)',
    'POST /v1/users/bulk_identify answered 400: (no message)',
    /^GET \/v1\/background_jobs\/bulk:jobs:\S+ answered 404: Fault injected by the mock/
  ])
  t.match(summary.reports[5], { jobId: /^bulk:jobs:/, status: 'failed' })
})

t.test('the mock rejecting the rows is a failed batch, not a retry', async (t) => {
  const mock = await manualMock(t)
  const summary = await syncUsers([{ user_id: '' }], { baseUrl: mock.url, apiKey: 'sync-invalid', sleep: async () => {} })
  t.match(summary.reports[0], { status: 'failed', requests: 1, error: /^POST \/v1\/users\/bulk_identify answered 400: / })
})

t.test('settings come from options or the environment, and wrong ones are refused', async (t) => {
  const mock = await startMock({ config: { MOCK_STAGE_MS: 0 } })
  t.teardown(() => mock.close())
  const env = { USERPILOT_URL: mock.url, USERPILOT_API_KEY: 'sync-env' }

  // Real timers here (default sleep), but with stage time 0 the waits are a few milliseconds.
  const summary = await syncUsers(demoUsers(5), { env, pollIntervalMs: 2, batchSize: 2 })
  t.match(summary, { ok: true, batches: 3, completedRows: 5 })
  t.equal((await mock.users('sync-env')).length, 5)

  const saved = { url: process.env.USERPILOT_URL, key: process.env.USERPILOT_API_KEY }
  t.teardown(() => {
    for (const [name, value] of [['USERPILOT_URL', saved.url], ['USERPILOT_API_KEY', saved.key]] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })
  process.env.USERPILOT_URL = mock.url
  process.env.USERPILOT_API_KEY = 'sync-process-env'
  t.match(await syncUsers([]), { ok: true, users: 0, batches: 0, completed: 0, failed: 0, completedRows: 0, reports: [] }, 'process.env by default; no users, nothing sent')

  await t.rejects(syncUsers([], { env: {} }), /set the API base URL \(option baseUrl or env USERPILOT_URL\)/)
  await t.rejects(syncUsers([], { env: { USERPILOT_URL: '' } }), /USERPILOT_URL/)
  await t.rejects(syncUsers([], { env: { USERPILOT_URL: mock.url } }), /set the API key \(option apiKey or env USERPILOT_API_KEY\)/)
  await t.rejects(syncUsers([], { env, apiKey: '' }), /USERPILOT_API_KEY/)
  const valid = { baseUrl: mock.url, apiKey: 'k' }
  await t.rejects(syncUsers([], { ...valid, batchSize: 0 }), /batchSize must be a whole number of 1 or more, got 0/)
  await t.rejects(syncUsers([], { ...valid, batchSize: 2.5 }), /batchSize must be a whole number/)
  await t.rejects(syncUsers([], { ...valid, batchSize: MAX_BATCH + 1 }), /batchSize is at most 10000, got 10001/)
  await t.rejects(syncUsers([], { ...valid, maxAttempts: 0 }), /maxAttempts must be/)
  await t.rejects(syncUsers([], { ...valid, maxPolls: -1 }), /maxPolls must be/)
  t.same((await mock.requests()).filter((entry) => entry.method === 'POST').length, 3, 'only the first run sent anything')
})

t.test('retryDelay and demoUsers', async (t) => {
  t.equal(retryDelay('3', 1, 1000, 30_000), 3000)
  t.equal(retryDelay(' 0 ', 5, 1000, 30_000), 0)
  t.equal(retryDelay('120', 1, 1000, 30_000), 120_000, 'the server knows best: Retry-After is not capped')
  t.equal(retryDelay(null, 1, 1000, 30_000), 1000)
  t.equal(retryDelay('1.5', 3, 1000, 30_000), 4000, 'not whole seconds: backoff')
  t.equal(retryDelay('Wed, 21 Oct 2015 07:28:00 GMT', 10, 1000, 30_000), 30_000, 'HTTP dates are not used: capped backoff')
  t.same(demoUsers(0), [])
  t.same(demoUsers(2).map((user) => user.user_id), ['demo-user-1', 'demo-user-2'])
  t.throws(() => demoUsers(-1), RangeError)
  t.throws(() => demoUsers(Number.NaN), /whole number of 0 or more, got NaN/)
})
