import t from 'tap'
import { freePort } from './helpers/redis.js'
import { buildApp } from '../src/app.js'
import { ManualClock } from '../src/clock.js'
import { ConfigError } from '../src/config.js'
import * as library from '../src/index.js'

t.test('buildApp with no options: defaults, system clock, JSON logs', async (t) => {
  const app = await buildApp({ config: { LOG_LEVEL: 'silent' } })
  t.teardown(() => app.close())
  t.equal(app.mock.config.PORT, 3000)
  t.equal(app.mock.config.MOCK_STORE, 'memory')
  t.notOk(app.mock.clock instanceof ManualClock, 'real time by default')
  t.equal(app.log.level, 'silent')
  const res = await app.inject({ method: 'GET', url: '/__mock/health' })
  t.equal(res.statusCode, 200)
})

t.test('MOCK_CLOCK=manual: real timestamps, but no timers at all', async (t) => {
  const app = await buildApp({ logger: false, config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => app.close())
  t.notOk(app.mock.clock instanceof ManualClock)
  const res = await app.inject({
    method: 'POST',
    url: '/v1/users/bulk_identify',
    headers: { authorization: 'Token k', 'content-type': 'application/json' },
    payload: { users: [{ user_id: 'u1' }] }
  })
  t.equal(res.statusCode, 202)
  t.equal((app.mock.clock as library.SystemClock).pending, 0, 'the job waits for the control API, not a timer')
})

t.test('an unreachable Redis or a bad setting fails the start', async (t) => {
  await t.rejects(buildApp({ logger: false, config: { MOCK_STORE: `redis://127.0.0.1:${await freePort()}` } }), ConfigError)
  await t.rejects(buildApp({ logger: false, config: { MOCK_STAGE_MS: -1 } }), { name: 'ConfigError', message: /MOCK_STAGE_MS/ })
})

t.test('closing the app stops the runner, the clock and the store', async (t) => {
  const clock = new ManualClock()
  const app = await buildApp({ logger: false, clock })
  await app.inject({
    method: 'POST',
    url: '/v1/users/bulk_identify',
    headers: { authorization: 'Token k', 'content-type': 'application/json' },
    payload: { users: [{ user_id: 'u1' }] }
  })
  t.equal(clock.pending, 1, 'the job waits on a timer')
  await app.close()
  t.equal(clock.pending, 0, 'no timer left behind')
})

t.test('the package entry exports the library', async (t) => {
  t.equal(library.buildApp, buildApp)
  t.type(library.ManualClock, 'function')
  t.type(library.SystemClock, 'function')
  t.type(library.MemoryStore, 'function')
  t.type(library.parseConfig, 'function')
  t.type(library.tenantOf, 'function')
  t.match(library.VERSION, /^\d+\.\d+\.\d+/)
  t.type(library.UsersBulkBodySchema, 'function')
  t.ok(library.ErrorEnvelope)
})

t.test('a job step that fails is logged and retried', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const clock = new ManualClock()
  class FlakyStore extends library.MemoryStore {
    failures = 1
    override async getJob (tenant: string, jobId: string): ReturnType<library.MockStore['getJob']> {
      if (this.failures-- > 0) throw new Error('store unavailable')
      return await super.getJob(tenant, jobId)
    }
  }
  const app = await buildApp({
    clock,
    store: new FlakyStore({ jobRetention: 10 }),
    config: { MOCK_STAGE_MS: 100 },
    logger: { level: 'error', stream: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>) } } }
  })
  t.teardown(() => app.close())
  const res = await app.inject({
    method: 'POST',
    url: '/v1/users/bulk_identify',
    headers: { authorization: 'Token k', 'content-type': 'application/json' },
    payload: { users: [{ user_id: 'u1' }] }
  })
  const { job_id: jobId } = res.json<{ job_id: string }>()
  await clock.advance(100)
  t.match(lines, [{ level: 50, msg: 'job step failed; retrying', jobId, err: { message: 'store unavailable' } }])
  await clock.advance(1000 + 400)
  const status = await app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers: { authorization: 'Token k' } })
  t.equal(status.json<{ status: string }>().status, 'completed', 'the retry carried the job on')
})
