// Testing a real-time client against the mock: what it stored, the events it sent,
// that it speaks as the docs ask (no warnings), and a deletion at 02:00 UTC.
import t from 'tap'
import { ManualClock, startMock } from 'userpilot-mock'
import { accountClosed, signedUp } from './activity-client.js'

t.test('signedUp identifies the user in its company and tracks the sign-up', async (t) => {
  const mock = await startMock()
  t.teardown(() => mock.close())
  const options = { baseUrl: mock.url, apiKey: 'activity-example' }

  await signedUp({ id: 'ada', email: 'ada@example.com', plan: 'pro', company: { id: 'acme', name: 'Acme' } }, options)

  // The effects are in the mock before the 202: no waiting.
  t.match(await mock.user('activity-example', 'ada'), { company_id: 'acme', metadata: { email: 'ada@example.com', plan: 'pro' } })
  t.match(await mock.companies('activity-example'), [{ company_id: 'acme', metadata: { name: 'Acme' }, user_count: 1 }])
  const events = await mock.events('activity-example')
  t.same(events.map((event) => [event.event_type, event.event_name, event.company_id]), [['track', 'Signed Up', 'acme'], ['identify_user', '', 'acme']])
  t.same(await mock.requests('activity-example', { warnings: true }), [], 'nothing strays from the docs')
})

t.test('a refused call is reported with the mock\'s answer', async (t) => {
  const mock = await startMock()
  t.teardown(() => mock.close())
  await mock.addFault('activity-example', { match: { path: '/v1/identify' }, status: 429 })
  await t.rejects(signedUp({ id: 'ada', email: 'ada@example.com', plan: 'pro', company: { id: 'acme', name: 'Acme' } }, { baseUrl: mock.url, apiKey: 'activity-example' }), /POST \/v1\/identify answered 429/)
})

t.test('accountClosed: the user is scheduled and goes at 02:00 UTC of the mock\'s clock', async (t) => {
  // A manual clock: the test moves time, nothing sleeps.
  const clock = new ManualClock(Date.parse('2025-05-19T23:00:00.000Z'))
  const mock = await startMock({ clock })
  t.teardown(() => mock.close())
  const options = { baseUrl: mock.url, apiKey: 'activity-example' }
  await signedUp({ id: 'grace', email: 'grace@example.com', plan: 'free', company: { id: 'navy', name: 'Navy' } }, options)

  await accountClosed('grace', options)
  t.same(await mock.deletions('activity-example'), [{ key_id: (await mock.user('activity-example', 'grace'))?.key_id, type: 'users', id: 'grace', deletion_scheduled_at: '2025-05-20T02:00:00.000Z' }])
  await clock.advance(3 * 3_600_000)
  t.equal(await mock.user('activity-example', 'grace'), undefined, 'gone at 02:00 UTC')
  t.equal((await mock.events('activity-example', { userId: 'grace' })).length, 2, 'its events stay')
})
