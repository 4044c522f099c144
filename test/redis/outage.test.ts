import t from 'tap'
import { connectRedis } from '../../src/store/redis-connect.js'
import { RedisStore } from '../../src/store/redis-store.js'
import { auth, bulkUsers, testApp } from '../helpers/app.js'
import { ownServerSkipReason, startRedisServer, testPrefix, waitFor } from '../helpers/redis.js'

// A Redis outage while the mock runs: requests get a 503 envelope with
// Retry-After (never a crash or a hang), and the mock carries on, jobs
// included, once Redis is back.

t.test('Redis down, then back', { skip: ownServerSkipReason() }, async (t) => {
  const server = await startRedisServer(t)
  const store = new RedisStore(await connectRedis(server.url), { jobRetention: 100, prefix: testPrefix() })
  const { app, clock } = await testApp(t, { MOCK_STAGE_MS: 100 }, { store })

  const accepted = await bulkUsers(app, { users: [{ user_id: 'before', metadata: { n: 1 } }] })
  t.equal(accepted.statusCode, 202)
  const jobId = accepted.json<{ job_id: string }>().job_id

  await server.stop()
  for (const [label, res] of [
    ['bulk identify', await bulkUsers(app, { users: [{ user_id: 'during' }] })],
    ['control users', await app.inject({ method: 'GET', url: '/__mock/users', headers: auth() })],
    ['job status', await app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers: auth() })]
  ] as const) {
    t.equal(res.statusCode, 503, label)
    t.equal(res.headers['retry-after'], '1')
    t.same(res.json(), {
      errors: [{
        error: 'service_unavailable',
        error_code: 'store_unavailable',
        message: 'The mock cannot reach its Redis store (MOCK_STORE) right now; retry in a moment.',
        details: res.json<{ errors: Array<{ details: string }> }>().errors[0]?.details
      }]
    })
  }
  t.match((await app.inject({ method: 'GET', url: '/__mock/health' })).statusCode, 200, 'health does not need the store')
  // The job's timer fires during the outage: the step fails and is retried later.
  await clock.advance(100)

  await server.start()
  await waitFor('the store to reconnect', () => store.redis.status === 'ready')
  // This Redis kept nothing (no persistence): the job is gone, and the mock still works.
  await clock.advance(1000)
  const again = await bulkUsers(app, { users: [{ user_id: 'after', metadata: { n: 2 } }] })
  t.equal(again.statusCode, 202, 'accepted again once Redis is back')
  for (let i = 0; i < 10; i++) await clock.advance(100)
  const user = await app.inject({ method: 'GET', url: '/__mock/users/after', headers: auth() })
  t.equal(user.statusCode, 200)
  t.match(user.json(), { user_id: 'after', metadata: { n: 2 } })
  const job = await app.inject({ method: 'GET', url: `/v1/background_jobs/${again.json<{ job_id: string }>().job_id}`, headers: auth() })
  t.match(job.json(), { status: 'completed', completed_rows: 1, total_rows: 1 })
})
