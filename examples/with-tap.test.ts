// Using the mock from a tap test: start it in-process, run the client, look at what it received.
import t from 'tap'
import { startMock } from 'userpilot-mock'
import { syncUsers } from './user-sync-client.js'

t.test('syncUsers identifies every user (tap)', async (t) => {
  // MOCK_CLOCK=manual: jobs move only when the test says so; `flush` runs them to the end.
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())

  const result = await syncUsers(
    [{ user_id: 'ada', company_id: 'acme', metadata: { plan: 'pro' } }, { user_id: 'grace', metadata: { seats: 3 } }],
    { baseUrl: mock.url, apiKey: 'tap-example', maxPolls: 5, wait: async () => { await mock.flush('tap-example') } }
  )

  t.match(result, { status: 'completed', completedRows: 2 })
  const users = await mock.users('tap-example')
  t.same(users.map((user) => [user.user_id, user.company_id, user.metadata]), [['ada', 'acme', { plan: 'pro' }], ['grace', null, { seats: 3 }]])
  const [request] = (await mock.requests('tap-example')).filter((entry) => entry.method === 'POST')
  t.equal(request?.status, 202)
})

t.test('an injected 503 and a job that never ends are reported (tap)', async (t) => {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())
  const options = { baseUrl: mock.url, apiKey: 'tap-example', maxPolls: 2, wait: async () => {} }
  await mock.addFault('tap-example', { match: { method: 'POST', path: '/v1/users/bulk_identify' }, status: 503 })
  await t.rejects(syncUsers([{ user_id: 'x' }], options), /answered 503/)
  // Nothing moves the manual clock here, so the job stays queued and the client gives up.
  await t.rejects(syncUsers([{ user_id: 'x' }], options), /did not end/)
})
