import t from 'tap'
import { auth, bulkUsers, testApp } from '../helpers/app.js'
import { redisStore } from '../helpers/store.js'
import { redisSkipReason, sharedRedisUrl } from '../helpers/redis.js'

// The whole mock on the Redis store, through HTTP: a job's lifecycle and
// timing, the control API, faults, the journal and reset, as on memory.

t.test('the mock on Redis', { skip: redisSkipReason() }, async (t) => {
  const store = await redisStore(await sharedRedisUrl())
  const { app, clock } = await testApp(t, { MOCK_STAGE_MS: 200 }, { store })
  // Leaves nothing in the shared Redis (before the app closes the store).
  t.teardown(async () => {
    await store.reset(null)
    await store.redis.del(`${store.prefix}jseq`)
  })

  const accepted = await bulkUsers(app, { users: [{ user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro', gone: 'x' } }, { user_id: 'u1', metadata: { gone: null } }] })
  t.equal(accepted.statusCode, 202)
  const jobId = accepted.json<{ job_id: string }>().job_id
  t.equal((await bulkUsers(app, { users: [{ user_id: 'u2' }] })).statusCode, 409, 'one job at a time')
  const status = async (): Promise<unknown> => (await app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers: auth() })).json()
  t.match(await status(), { status: 'queued', completed_rows: 0 })
  await clock.advance(200)
  t.match(await status(), { status: 'validating' })
  await clock.advance(400)
  t.match(await status(), { status: 'pending_refresh', completed_rows: 2 })
  await clock.advance(200)
  t.match(await status(), { status: 'completed', completed_rows: 2, total_rows: 2, elapsed_time: 0 })
  t.match((await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).json(), { user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro' }, last_job_id: jobId })
  t.notOk('gone' in (await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).json<{ metadata: object }>().metadata, 'null removed it')

  const fault = await app.inject({ method: 'POST', url: '/__mock/faults', headers: auth(), payload: { match: { method: 'POST', path: '/v1/users/bulk_identify' }, times: 1, status: 429 } })
  t.equal(fault.statusCode, 201)
  const limited = await bulkUsers(app, { users: [{ user_id: 'u3' }] })
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '1')
  t.equal((await bulkUsers(app, { users: [{ user_id: 'u3' }] })).statusCode, 202, 'the fault was used up')

  const journal = (await app.inject({ method: 'GET', url: '/__mock/requests', headers: auth() })).json<Array<{ path: string, status: number }>>()
  t.same(journal.filter((entry) => entry.path === '/v1/users/bulk_identify').map((entry) => entry.status), [202, 429, 409, 202], 'the journal, newest first')

  t.equal((await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })).json<{ finished: number }>().finished, 1)
  t.equal((await app.inject({ method: 'POST', url: '/__mock/reset', headers: auth() })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).statusCode, 404, 'reset forgot the users')
  t.same((await app.inject({ method: 'GET', url: '/__mock/requests', headers: auth() })).json(), [], 'and the journal')
})

t.test('real-time calls on Redis: identify, track, deletes at 02:00 UTC, events, warnings', { skip: redisSkipReason() }, async (t) => {
  const store = await redisStore(await sharedRedisUrl())
  // A minute before 02:00 UTC: the lease sweep fires every second, so a day of manual time would be slow.
  const { app, clock } = await testApp(t, {}, { store, clockStart: Date.parse('2025-05-20T01:59:00.000Z') })
  t.teardown(async () => {
    await store.reset(null)
    await store.redis.del(`${store.prefix}jseq`)
  })
  const send = async (method: 'POST' | 'DELETE', url: string, payload: object): Promise<number> =>
    (await app.inject({ method, url, headers: { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22', 'x-request-id': `r${url.replace(/\//g, '.')}` }, payload })).statusCode
  t.equal(await send('POST', '/v1/identify', { user_id: 'u1', metadata: { plan: 'pro', nested: { a: [1] } }, company: { id: 'c1', name: 'Acme' } }), 202)
  t.equal(await send('POST', '/v1/companies/identify', { company_id: 'c2', metadata: { plan: 'x' } }), 202)
  t.equal(await send('POST', '/v1/track', { user_id: 'u1', event_name: 'Clicked' }), 202)
  const user = (await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).json()
  t.match(user, { company_id: 'c1', metadata: { plan: 'pro', nested: { a: [1] } }, last_touched_by: { type: 'request', id: 'r.v1.identify' }, last_job_id: null })
  const events = (await app.inject({ method: 'GET', url: '/__mock/events', headers: auth() })).json<Array<{ event_type: string, company_id: string }>>()
  t.strictSame(events.map((event) => [event.event_type, event.company_id]), [['track', 'c1'], ['identify_company', 'c2'], ['identify_user', 'c1']])
  const warned = (await app.inject({ method: 'GET', url: '/__mock/requests?warnings=true', headers: auth() })).json<Array<{ warnings: Array<{ code: string }> }>>()
  t.strictSame(warned.map((entry) => entry.warnings.map((warning) => warning.code)), [['nested_metadata']])
  t.equal(await send('DELETE', '/v1/companies', { companies: ['c1'] }), 202)
  t.match((await app.inject({ method: 'GET', url: '/__mock/deletions', headers: auth() })).json(), [{ type: 'companies', id: 'c1', deletion_scheduled_at: '2025-05-20T02:00:00.000Z' }])
  await clock.advance(Date.parse('2025-05-20T02:00:00.000Z') - clock.now())
  t.equal((await app.inject({ method: 'GET', url: '/__mock/companies/c1', headers: auth() })).statusCode, 404, 'deleted at 02:00 UTC')
  t.match((await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).json(), { company_id: null }, 'its user has no company')
})
