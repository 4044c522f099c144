// Segment's own published Userpilot destination (@segment/action-destinations, run by
// @segment/actions-core as Segment runs it) against the mock over real HTTP. Its code is
// installed in test/clients/segment (`npm ci` there), outside this package's dependencies.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { startMock } from '../../src/mock.js'
import { tenantOf } from '../../src/tenant.js'
import { expectSent, type SentCall } from '../helpers/clients.js'

const CLIENT_DIR = fileURLToPath(new URL('./segment/', import.meta.url))
const NEEDED = ['node_modules/@segment/actions-core/package.json', 'node_modules/liquidjs/package.json', 'vendor/userpilot/index.js']

/**
 * Why the destination cannot run here, or false when it can: it needs
 * `npm ci` in test/clients/segment. Under CI a missing install is a failure.
 */
function segmentSkipReason (): string | false {
  const missing = NEEDED.filter((file) => !existsSync(CLIENT_DIR + file))
  if (missing.length === 0) return false
  const reason = `Segment's Userpilot destination is not installed (no ${missing.join(', ')}): run \`npm ci\` in test/clients/segment`
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`${reason}; CI must run the Segment client test`)
  return reason
}

/** The destination's settings: `endpoint` needs its trailing slash (the destination appends `v1/...`). */
interface Settings { apiKey: string, endpoint: string }
type SegmentEvent = Record<string, unknown>

/** The part of actions-core's TestDestination this test drives. */
interface TestDestination {
  testAuthentication(settings: Settings): Promise<void>
  testAction(action: 'identifyUser' | 'trackEvent' | 'identifyCompany', input: { event: SegmentEvent, settings: Settings, useDefaultMappings: true }): Promise<Array<{ status: number }>>
  onDelete(event: SegmentEvent, settings: Settings): Promise<{ status: number }>
}

/** Loads actions-core and the destination from the client folder (CommonJS). */
function loadDestination (): TestDestination {
  const require = createRequire(CLIENT_DIR + 'package.json')
  const { createTestIntegration } = require('@segment/actions-core') as { createTestIntegration: (definition: unknown) => TestDestination }
  const { default: definition } = require('./vendor/userpilot/index.js') as { default: unknown }
  return createTestIntegration(definition)
}

const KEY = 'segment-key'
const USER = 'seg-user-1'
// Where the ManualClock starts (2025-05-19T07:29:12Z): deletions are due at the next 02:00 UTC.
const NOW = '2025-05-19T07:29:12.000Z'
const NEXT_2AM = '2025-05-20T02:00:00.000Z'

t.test('Segment\'s Userpilot destination against the mock', { skip: segmentSkipReason() }, async (t) => {
  const destination = loadDestination()
  const mock = await startMock({ clock: new ManualClock(), config: { MOCK_API_KEYS: KEY } })
  t.teardown(() => mock.close())
  const settings: Settings = { apiKey: KEY, endpoint: `${mock.url}/` }

  /** Asserts the newest request of KEY: what the destination sent. */
  async function sent (t: Test, expected: SentCall): Promise<void> {
    const [entry] = await mock.requests(KEY)
    expectSent(t, entry, KEY, expected)
  }

  /** Runs one action on an event with the destination's default mappings; asserts it got a 202. */
  async function action (t: Test, name: 'identifyUser' | 'trackEvent' | 'identifyCompany', event: SegmentEvent): Promise<void> {
    const responses = await destination.testAction(name, { event, settings, useDefaultMappings: true })
    t.same(responses.map((response) => response.status), [202], `${name}: one request, answered 202`)
  }

  t.test('testAuthentication with an accepted key passes: GET /v1/validate', async (t) => {
    await t.resolves(destination.testAuthentication(settings))
    await sent(t, { method: 'GET', path: '/v1/validate', status: 200, body: null })
  })

  t.test('testAuthentication with an unknown key: the mock refuses it and the destination reports it', async (t) => {
    await t.rejects(destination.testAuthentication({ ...settings, apiKey: 'not-a-key' }), { message: /Credentials are invalid: 401 Unauthorized/ })
    // A refused key has no state of its own: the call is in the journal of every key.
    const [entry] = await mock.requests()
    t.match(entry, { method: 'GET', path: '/v1/validate', status: 401, key_id: null, headers: { authorization: 'Token ***', 'x-api-version': '2020-09-22' } })
  })

  t.test('identifyUser without a company: the traits become the user\'s metadata, createdAt as created_at', async (t) => {
    await action(t, 'identifyUser', { type: 'identify', userId: USER, traits: { name: 'Ann Lee', email: 'ann@example.com', createdAt: '2024-01-02T03:04:05.000Z' } })
    const metadata = { name: 'Ann Lee', email: 'ann@example.com', created_at: '2024-01-02T03:04:05.000Z' }
    await sent(t, { method: 'POST', path: '/v1/identify', status: 202, body: { user_id: USER, metadata } })
    const user = await mock.user(KEY, USER)
    t.match(user, { user_id: USER, company_id: null, created_at: NOW, deletion_scheduled_at: null })
    t.same(user?.metadata, metadata, 'the user\'s metadata')
    const events = await mock.events(KEY)
    t.equal(events.length, 1, 'one event')
    t.match(events[0], { event_type: 'identify_user', user_id: USER, company_id: null, inserted_at: NOW, source: 'backend-http' })
    t.same(events[0]?.metadata, metadata, 'the event\'s metadata')
  })

  t.test('identifyUser with a company trait: kept as a nested metadata value, the user is not moved into a company', async (t) => {
    await action(t, 'identifyUser', { type: 'identify', userId: USER, traits: { plan: 'pro', company: { id: 'seg-co-1', name: 'Acme' } } })
    // Segment sends no top-level `company`: the company object stays inside metadata.
    const body = { user_id: USER, metadata: { plan: 'pro', company: { id: 'seg-co-1', name: 'Acme' } } }
    await sent(t, { method: 'POST', path: '/v1/identify', status: 202, body, warnings: [['nested_metadata', '/metadata/company']] })
    const user = await mock.user(KEY, USER)
    t.equal(user?.company_id, null, 'in no company')
    t.same(user?.metadata, { name: 'Ann Lee', email: 'ann@example.com', created_at: '2024-01-02T03:04:05.000Z', plan: 'pro', company: { id: 'seg-co-1', name: 'Acme' } }, 'merged into the metadata already stored')
    t.same(await mock.companies(KEY), [], 'no company is created')
    const [event] = await mock.events(KEY, { eventType: 'identify_user' })
    t.match(event, { user_id: USER, company_id: null, metadata: body.metadata }, 'the event keeps the metadata as sent')
  })

  t.test('trackEvent: the event name and its properties as metadata', async (t) => {
    await action(t, 'trackEvent', { type: 'track', userId: USER, event: 'Plan Upgraded', properties: { plan: 'pro', seats: 5 } })
    await sent(t, { method: 'POST', path: '/v1/track', status: 202, body: { user_id: USER, event_name: 'Plan Upgraded', metadata: { plan: 'pro', seats: 5 } } })
    const events = await mock.events(KEY, { eventType: 'track' })
    t.equal(events.length, 1, 'one track event')
    t.match(events[0], { event_name: 'Plan Upgraded', user_id: USER, company_id: null, metadata: { plan: 'pro', seats: 5 }, source: 'backend-http' })
  })

  t.test('identifyCompany: the group\'s traits become the company\'s metadata; the user is not moved', async (t) => {
    await action(t, 'identifyCompany', { type: 'group', userId: USER, groupId: 'seg-co-2', traits: { name: 'Beta Inc', plan: 'enterprise', createdAt: '2023-06-07T08:09:10.000Z' } })
    const metadata = { name: 'Beta Inc', plan: 'enterprise', created_at: '2023-06-07T08:09:10.000Z' }
    await sent(t, { method: 'POST', path: '/v1/companies/identify', status: 202, body: { company_id: 'seg-co-2', metadata } })
    const companies = await mock.companies(KEY)
    t.equal(companies.length, 1, 'one company')
    t.match(companies[0], { company_id: 'seg-co-2', user_count: 0 })
    t.same(companies[0]?.metadata, metadata, 'the company\'s metadata')
    const events = await mock.events(KEY, { eventType: 'identify_company' })
    t.equal(events.length, 1, 'one company event')
    t.match(events[0], { user_id: null, company_id: 'seg-co-2', metadata })
    t.match(await mock.user(KEY, USER), { company_id: null })
  })

  t.test('onDelete: DELETE /v1/users schedules the user for 02:00 UTC; a flush deletes it', async (t) => {
    const response = await destination.onDelete({ type: 'delete', userId: USER }, settings)
    t.equal(response.status, 202, 'answered 202')
    await sent(t, { method: 'DELETE', path: '/v1/users', status: 202, body: { users: [USER] } })
    t.same(await mock.deletions(KEY), [{ key_id: tenantOf(KEY).envId, type: 'users', id: USER, deletion_scheduled_at: NEXT_2AM }])
    t.match(await mock.user(KEY, USER), { deletion_scheduled_at: NEXT_2AM })
    await mock.flush(KEY)
    t.equal(await mock.user(KEY, USER), undefined, 'the user is gone after a flush')
    t.same(await mock.deletions(KEY), [], 'nothing left to delete')
  })

  t.test('every request of the accepted key: only the company trait strayed from the docs', async (t) => {
    const warned = await mock.requests(KEY, { warnings: true })
    t.same(warned.map((entry) => [entry.path, entry.warnings.map((warning) => warning.code)]), [['/v1/identify', ['nested_metadata']]])
    t.equal((await mock.requests(KEY)).length, 6, 'validate, two identifies, track, company identify, delete')
  })
})
