// The same from a mock in a child process (startMockProcess): the bin on a free port,
// stopped with SIGTERM in `after`, and gone with this process if it dies first.
const assert = require('node:assert/strict')
const { after, before, test } = require('node:test')
const { startMockProcess } = require('userpilot-mock')
const { identifyUsers, jobStatus } = require('../identify.js')

let mock
before(async () => { mock = await startMockProcess({ config: { MOCK_CLOCK: 'manual' } }) })
after(async () => { await mock.close() })

test('identifies every user, against the mock in a child process', async () => {
  const api = mock.isolate()
  const client = { baseUrl: api.url, apiKey: api.key }
  const jobId = await identifyUsers([{ user_id: 'linus' }], client)
  await api.advance(jobId, 'completed')
  assert.equal(await jobStatus(jobId, client), 'completed')
  assert.deepEqual((await api.users()).map((user) => user.user_id), ['linus'])
})
