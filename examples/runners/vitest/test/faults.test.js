// Another file, another key: the same user id as identify.test.js, its own profile,
// and a fault that the other file never meets.
import { expect, inject, test } from 'vitest'
import { connectMock } from 'userpilot-mock'
import { identifyUsers } from '../identify.js'

const api = connectMock(inject('userpilotMockUrl')).isolate()
const client = { baseUrl: api.url, apiKey: api.key }

test('the same user id under this file\'s key: its own profile', async () => {
  await identifyUsers([{ user_id: 'ada', metadata: { plan: 'free' } }], client)
  await api.flush()
  expect((await api.users()).map((user) => [user.user_id, user.metadata])).toEqual([['ada', { plan: 'free' }]])
})

test('a 503 from Userpilot is reported', async () => {
  await api.addFault({ match: { path: '/v1/users/bulk_identify' }, status: 503 })
  await expect(identifyUsers([{ user_id: 'x' }], client)).rejects.toThrow(/answered 503/)
  const [request] = await api.requests()
  expect(request.status).toBe(503)
})
