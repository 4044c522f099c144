// The whole library also works inside Jest's own (CommonJS) module runtime:
// a mock of this file's own, in the worker that runs it.
const { afterAll, beforeAll, expect, test } = require('@jest/globals')
const { startMock } = require('userpilot-mock')
const { identifyUsers } = require('../identify.js')

let mock
beforeAll(async () => { mock = await startMock({ config: { MOCK_CLOCK: 'manual' } }) })
afterAll(async () => { await mock.close() })

test('a mock started in the test file', async () => {
  const api = mock.isolate()
  const jobId = await identifyUsers([{ user_id: 'linus' }], { baseUrl: api.url, apiKey: api.key })
  expect((await api.advance(jobId, 'completed')).status).toBe('completed')
  expect((await api.users()).map((user) => user.user_id)).toEqual(['linus'])
})
