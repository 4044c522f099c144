// One API key for this file: the files run at the same time against the one mock,
// and none sees another's users, jobs or requests. Tests within the file run one
// after the other, and forget this key's state after each.
const { afterEach, expect, test } = require('@jest/globals')
const { connectMock } = require('userpilot-mock')
const { identifyUsers, jobStatus } = require('../identify.js')

const api = connectMock(process.env.USERPILOT_MOCK_URL).isolate()
const client = { baseUrl: api.url, apiKey: api.key }
afterEach(async () => { await api.reset() })

test('identifies every user', async () => {
  const jobId = await identifyUsers([{ user_id: 'ada', metadata: { plan: 'pro' } }, { user_id: 'grace' }], client)
  expect(await jobStatus(jobId, client)).toBe('queued')
  expect(await api.flush()).toBe(1)
  expect(await jobStatus(jobId, client)).toBe('completed')
  expect((await api.users()).map((user) => [user.user_id, user.metadata])).toEqual([['ada', { plan: 'pro' }], ['grace', {}]])
})

test('after a reset, nothing of the test before', async () => {
  expect(await api.users()).toEqual([])
  expect(await api.jobs()).toEqual([])
})
