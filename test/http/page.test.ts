import t from 'tap'
import { PAGE_DEFAULTS } from '../../schemas/jobs.js'
import { pageOf } from '../../src/http/page.js'
import { auth, testApp } from '../helpers/app.js'

t.test('pageOf: the query values, or the schema defaults when absent', async (t) => {
  t.same(pageOf({}), { limit: PAGE_DEFAULTS.limit, offset: PAGE_DEFAULTS.offset })
  t.same(pageOf({ limit: 5 }), { limit: 5, offset: 0 })
  t.same(pageOf({ limit: 7, offset: 3 }), { limit: 7, offset: 3 })
})

t.test('an empty JSON body on a route other than a bulk one asks for a JSON object', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ method: 'POST', url: '/__mock/faults', headers: { ...auth(), 'content-type': 'application/json' }, payload: '' })
  t.equal(res.statusCode, 400)
  t.same(res.json(), { errors: [{ error: 'invalid_request', error_code: 'empty_body', message: 'The request body is empty: send a JSON object.', details: 'body' }] })
})

t.test('an empty JSON body where the body is optional (advance, fail, flush, reset) is no body', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const empty = { ...auth(), 'content-type': 'application/json' }
  const accepted = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: empty, payload: JSON.stringify({ users: [{ user_id: 'u1' }] }) })
  const jobId = accepted.json<{ job_id: string }>().job_id
  const advance = await app.inject({ method: 'POST', url: `/__mock/jobs/${jobId}/advance`, headers: empty, payload: '' })
  t.equal(advance.statusCode, 200)
  t.equal(advance.json<{ status: string }>().status, 'validating', 'advanced one stage')
  const fail = await app.inject({ method: 'POST', url: `/__mock/jobs/${jobId}/fail`, headers: empty, payload: '' })
  t.equal(fail.json<{ status: string }>().status, 'failed')
  t.same((await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: empty, payload: '' })).json(), { finished: 0, deleted: { users: 0, companies: 0 } })
  t.same((await app.inject({ method: 'POST', url: '/__mock/reset', headers: empty, payload: '' })).json(), { reset: 'key' })
  t.equal((await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: empty, payload: '' })).statusCode, 200, 'a GET with an empty body, as curl -d \'\' sends')
})
