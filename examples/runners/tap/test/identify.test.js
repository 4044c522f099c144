// tap runs each file in a process of its own: one mock per file, closed in a teardown.
// Each subtest takes its own API key with mock.isolate(): it sees only its own users,
// jobs and requests, whatever ran before it or runs beside it.
import t from 'tap'
import { startMock } from 'userpilot-mock'
import { identifyUsers, jobStatus } from '../identify.js'

const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
t.teardown(() => mock.close())

t.test('identifies every user', async (t) => {
  const api = mock.isolate()
  const client = { baseUrl: api.url, apiKey: api.key }
  const jobId = await identifyUsers([{ user_id: 'ada', metadata: { plan: 'pro' } }, { user_id: 'grace' }], client)
  t.equal(await jobStatus(jobId, client), 'queued', 'MOCK_CLOCK=manual: jobs wait for the test')
  t.equal(await api.flush(), 1)
  t.equal(await jobStatus(jobId, client), 'completed')
  t.same((await api.users()).map((user) => [user.user_id, user.metadata]), [['ada', { plan: 'pro' }], ['grace', {}]])
})

t.test('the same user id under another key: its own profile', async (t) => {
  const api = mock.isolate()
  await identifyUsers([{ user_id: 'ada', metadata: { plan: 'free' } }], { baseUrl: api.url, apiKey: api.key })
  await api.flush()
  t.same((await api.users()).map((user) => [user.user_id, user.metadata]), [['ada', { plan: 'free' }]])
})

t.test('a 503 from Userpilot is reported', async (t) => {
  const api = mock.isolate()
  await api.addFault({ match: { path: '/v1/users/bulk_identify' }, status: 503 })
  await t.rejects(identifyUsers([{ user_id: 'x' }], { baseUrl: api.url, apiKey: api.key }), /answered 503/)
  const [request] = await api.requests()
  t.equal(request.status, 503)
})
