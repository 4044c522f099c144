// The requests RudderStack's Userpilot destination sends, replayed with inject. The
// shapes follow rudder-transformer's src/cdk/v2/destinations/userpilot/procWorkflow.yaml
// and its processor test data: headers `Authorization: Token <key>`, `Content-Type:
// application/json`, `X-API-Version: 2020-09-22` on every call;
// identify → POST /v1/identify {user_id, company, metadata}: `company` is the whole
//   context.traits.company object, sent only when it has an `id`; `metadata` is every
//   trait (createdAt renamed created_at, null values dropped, the nested company kept);
// track → POST /v1/track {user_id, event_name, metadata: properties};
// group → POST /v1/companies/identify {company_id: groupId, metadata: traits, renamed the same way}.
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { JournalEntry, MockCompany, MockEvent, MockUser } from '../../schemas/control.js'
import { API_VERSION } from '../../schemas/realtime.js'
import { KEY, auth, testApp } from '../helpers/app.js'
import { expectSent, type SentCall } from '../helpers/clients.js'
import { control, isoAt } from '../helpers/http.js'

const USER = 'rs-user-1'
const COMPANY = { id: 'rs-co-1', name: 'Company123' }
const TRAITS = { name: 'John Doe', email: 'john.doe@example.com', title: 'CEO', created_at: '2024-02-03T04:05:06.000Z' }

/** Sends a body as RudderStack does: POST with its three headers. */
async function send (t: Test, app: FastifyInstance, path: string, body: unknown): Promise<void> {
  const res = await app.inject({ method: 'POST', url: path, headers: { ...auth(), 'content-type': 'application/json', 'x-api-version': API_VERSION }, payload: JSON.stringify(body) })
  t.equal(res.statusCode, 202, `${path}: 202`)
  t.same(res.json(), {}, 'an empty object')
}

/** A control view (GET /__mock<url>) of KEY; asserts 200. */
async function view<T> (t: Test, app: FastifyInstance, url: string): Promise<T> {
  const res = await control(app, 'GET', url)
  t.equal(res.statusCode, 200, `GET /__mock${url}: 200`)
  return res.json<T>()
}

/** Asserts the newest journal entry: what was sent and its warnings. */
async function sent (t: Test, app: FastifyInstance, expected: SentCall): Promise<void> {
  const [entry] = await view<JournalEntry[]>(t, app, '/requests?limit=1')
  expectSent(t, entry, KEY, expected)
}

t.test('RudderStack\'s request shapes', async (t) => {
  const { app } = await testApp(t)

  t.test('identify with a company that has an id: the user moves into it, the company gets its name', async (t) => {
    const body = { user_id: USER, company: COMPANY, metadata: { ...TRAITS, company: COMPANY } }
    await send(t, app, '/v1/identify', body)
    await sent(t, app, { method: 'POST', path: '/v1/identify', status: 202, body, warnings: [['nested_metadata', '/metadata/company']] })
    const user = await view<MockUser>(t, app, `/users/${USER}`)
    t.equal(user.company_id, COMPANY.id, 'the user is in the company')
    t.same(user.metadata, { ...TRAITS, company: COMPANY }, 'every trait as metadata, the nested company kept as sent')
    const companies = await view<MockCompany[]>(t, app, '/companies')
    t.equal(companies.length, 1, 'one company')
    t.match(companies[0], { company_id: COMPANY.id, user_count: 1, created_at: isoAt(0) })
    t.same(companies[0]?.metadata, { name: COMPANY.name }, 'its properties: every key of the company object but its id')
    const events = await view<MockEvent[]>(t, app, '/events')
    t.equal(events.length, 1, 'one event')
    t.match(events[0], { event_type: 'identify_user', user_id: USER, company_id: COMPANY.id })
    t.same(events[0]?.metadata, body.metadata, 'the event keeps the metadata as sent')
  })

  t.test('identify of a user whose company trait has no id: no company sent, the user in none', async (t) => {
    // RudderStack leaves `company` out (it was null), but the trait stays in metadata.
    const body = { user_id: 'rs-user-2', metadata: { name: 'Jane Roe', company: { name: 'No Id Ltd' } } }
    await send(t, app, '/v1/identify', body)
    await sent(t, app, { method: 'POST', path: '/v1/identify', status: 202, body, warnings: [['nested_metadata', '/metadata/company']] })
    const user = await view<MockUser>(t, app, '/users/rs-user-2')
    t.equal(user.company_id, null, 'in no company')
    t.same(user.metadata, body.metadata)
    t.equal((await view<MockCompany[]>(t, app, '/companies')).length, 1, 'no new company')
  })

  t.test('identify without a company trait: no warning', async (t) => {
    const body = { user_id: 'rs-user-3', metadata: { name: 'Sam Poe', created_at: '2024-03-04T05:06:07.000Z' } }
    await send(t, app, '/v1/identify', body)
    await sent(t, app, { method: 'POST', path: '/v1/identify', status: 202, body })
    t.same((await view<MockUser>(t, app, '/users/rs-user-3')).metadata, body.metadata)
  })

  t.test('track: an event of the user, in the user\'s company', async (t) => {
    const body = { user_id: USER, event_name: 'Product Viewed', metadata: { product_id: 'p-1', price: 9.99 } }
    await send(t, app, '/v1/track', body)
    await sent(t, app, { method: 'POST', path: '/v1/track', status: 202, body })
    const events = await view<MockEvent[]>(t, app, '/events?event_type=track')
    t.equal(events.length, 1, 'one track event')
    t.match(events[0], { event_name: 'Product Viewed', user_id: USER, company_id: COMPANY.id, source: 'backend-http' })
    t.same(events[0]?.metadata, body.metadata)
  })

  t.test('group: the company\'s traits are merged into its metadata; its users stay', async (t) => {
    const body = { company_id: COMPANY.id, metadata: { name: 'Company123 Ltd', plan: 'enterprise', created_at: '2020-01-01T00:00:00.000Z' } }
    await send(t, app, '/v1/companies/identify', body)
    await sent(t, app, { method: 'POST', path: '/v1/companies/identify', status: 202, body })
    const [company] = await view<MockCompany[]>(t, app, '/companies')
    t.same(company?.metadata, body.metadata, 'renamed and merged')
    t.equal(company?.user_count, 1, 'still one user')
    const events = await view<MockEvent[]>(t, app, '/events?event_type=identify_company')
    t.equal(events.length, 1, 'one company event')
    t.match(events[0], { user_id: null, company_id: COMPANY.id })
    t.same(events[0]?.metadata, body.metadata)
  })

  t.test('only the nested company traits strayed from the docs', async (t) => {
    const warned = await view<JournalEntry[]>(t, app, '/requests?warnings=true')
    t.same(warned.map((entry) => [entry.path, entry.warnings.map((warning) => warning.code)]), [
      ['/v1/identify', ['nested_metadata']],
      ['/v1/identify', ['nested_metadata']]
    ])
  })
})
