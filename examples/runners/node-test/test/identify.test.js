// node:test runs each file in a process of its own: one mock per file, started in `before`.
// Each test takes its own API key with mock.isolate(), so these tests run at the same time,
// with the same user ids, and each still sees only its own users, jobs and requests.
const assert = require('node:assert/strict')
const { after, before, describe, test } = require('node:test')
const { startMock } = require('userpilot-mock')
const { identifyUsers, jobStatus } = require('../identify.js')

describe('identifyUsers', { concurrency: true }, () => {
  let mock
  before(async () => { mock = await startMock({ config: { MOCK_CLOCK: 'manual' } }) })
  after(async () => { await mock.close() })

  test('identifies every user', async () => {
    const api = mock.isolate()
    const client = { baseUrl: api.url, apiKey: api.key }
    const jobId = await identifyUsers([{ user_id: 'ada', metadata: { plan: 'pro' } }, { user_id: 'grace' }], client)
    assert.equal(await jobStatus(jobId, client), 'queued', 'MOCK_CLOCK=manual: jobs wait for the test')
    assert.equal(await api.flush(), 1)
    assert.equal(await jobStatus(jobId, client), 'completed')
    assert.deepEqual((await api.users()).map((user) => [user.user_id, user.metadata]), [['ada', { plan: 'pro' }], ['grace', {}]])
  })

  test('the same user id under another key: its own profile', async () => {
    const api = mock.isolate()
    await identifyUsers([{ user_id: 'ada', metadata: { plan: 'free' } }], { baseUrl: api.url, apiKey: api.key })
    await api.flush()
    assert.deepEqual((await api.users()).map((user) => [user.user_id, user.metadata]), [['ada', { plan: 'free' }]])
  })

  test('a 503 from Userpilot is reported', async () => {
    const api = mock.isolate()
    await api.addFault({ match: { path: '/v1/users/bulk_identify' }, status: 503 })
    await assert.rejects(identifyUsers([{ user_id: 'x' }], { baseUrl: api.url, apiKey: api.key }), /answered 503/)
    const [request] = await api.requests()
    assert.equal(request.status, 503)
  })
})
