// The same with node:test (the runner built into Node.js): `node --test` or any TAP consumer runs it.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { startMock, type MockServer } from 'userpilot-mock'
import { syncUsers } from './user-sync-client.js'

let mock: MockServer
before(async () => { mock = await startMock({ config: { MOCK_CLOCK: 'manual' } }) })
after(async () => { await mock.close() })

test('syncUsers identifies every user (node:test)', async () => {
  const result = await syncUsers([{ user_id: 'linus', metadata: { plan: 'free' } }], {
    baseUrl: mock.url,
    apiKey: 'node-test-example',
    maxPolls: 5,
    wait: async () => { await mock.flush('node-test-example') }
  })
  assert.equal(result.status, 'completed')
  assert.equal(result.completedRows, 1)
  const user = await mock.user('node-test-example', 'linus')
  assert.deepEqual(user?.metadata, { plan: 'free' })
})

test('a rate-limited request is reported (node:test)', async () => {
  const key = 'node-test-limited'
  // The next bulk request of this key is answered 429, as the real service can.
  await mock.addFault(key, { match: { path: '/v1/users/bulk_identify' }, status: 429, headers: { 'retry-after': '2' } })
  await assert.rejects(syncUsers([{ user_id: 'x' }], { baseUrl: mock.url, apiKey: key, maxPolls: 1, wait: async () => {} }), /answered 429/)
  const [entry] = await mock.requests(key)
  assert.equal(entry?.status, 429)
})
