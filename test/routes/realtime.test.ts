import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { JournalEntry, MockCompany, MockEvent, MockUser } from '../../schemas/control.js'
import { auth, KEY, testApp } from '../helpers/app.js'
import { assertStandardHeaders, control, expectErrors, expectOk, invalid, isoAt } from '../helpers/http.js'
import { tenantOf } from '../../src/tenant.js'

const ENV = tenantOf(KEY).envId
/** The three headers every public client sends. */
const CLIENT = { 'content-type': 'application/json', 'x-api-version': '2020-09-22' }

function post (app: FastifyInstance, url: string, body: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers: { ...auth(), ...CLIENT, ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) })
}

function expectAccepted (t: Test, res: LightMyRequestResponse, requestId?: string): void {
  t.equal(res.statusCode, 202, 'status 202')
  assertStandardHeaders(t, res, requestId)
  t.strictSame(res.json(), {}, 'an empty object')
}

async function users (t: Test, app: FastifyInstance): Promise<MockUser[]> {
  return expectOk<MockUser[]>(t, await control(app, 'GET', '/users'), Type.Array(MockUser))
}

async function companies (t: Test, app: FastifyInstance): Promise<MockCompany[]> {
  return expectOk<MockCompany[]>(t, await control(app, 'GET', '/companies'), Type.Array(MockCompany))
}

async function events (t: Test, app: FastifyInstance, query = ''): Promise<MockEvent[]> {
  return expectOk<MockEvent[]>(t, await control(app, 'GET', `/events${query}`), Type.Array(MockEvent))
}

async function journal (t: Test, app: FastifyInstance, query = ''): Promise<JournalEntry[]> {
  return expectOk<JournalEntry[]>(t, await control(app, 'GET', `/requests${query}`), Type.Array(JournalEntry))
}

function byRequest (id: string): { type: 'request', id: string } {
  return { type: 'request', id }
}

t.test('POST /v1/identify: 202 {}, the user is stored at once and kept as an event', async (t) => {
  const { app, clock } = await testApp(t)
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', metadata: { plan: 'pro', seats: 3 } }, { 'x-request-id': 'req-1' }), 'req-1')
  await clock.advance(1000)
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', metadata: { seats: null, beta: true } }, { 'x-request-id': 'req-2' }), 'req-2')
  t.strictSame(await users(t, app), [{
    key_id: ENV,
    user_id: 'u1',
    company_id: null,
    metadata: { plan: 'pro', beta: true },
    created_at: isoAt(0),
    updated_at: isoAt(1000),
    last_touched_by: byRequest('req-2'),
    last_job_id: null,
    deletion_scheduled_at: null
  }], 'merged: null removed seats')
  t.strictSame(await events(t, app), [
    { key_id: ENV, event_type: 'identify_user', event_name: '', user_id: 'u1', company_id: null, metadata: { seats: null, beta: true }, source: 'backend-http', inserted_at: isoAt(1000), request_id: 'req-2' },
    { key_id: ENV, event_type: 'identify_user', event_name: '', user_id: 'u1', company_id: null, metadata: { plan: 'pro', seats: 3 }, source: 'backend-http', inserted_at: isoAt(0), request_id: 'req-1' }
  ], 'each call as sent, newest first')
  t.strictSame((await journal(t, app)).map((entry) => [entry.method, entry.path, entry.status, entry.warnings]), [
    ['POST', '/v1/identify', 202, []], ['POST', '/v1/identify', 202, []]
  ], 'journaled, without warnings')
})

t.test('identify with a company object: the company is upserted and the user moves into it', async (t) => {
  const { app } = await testApp(t)
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', company: { id: 'c1', name: 'Acme', plan: 'growth' } }, { 'x-request-id': 'r1' }), 'r1')
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u2', company: { company_id: 'c1', seats: 5 } }, { 'x-request-id': 'r2' }), 'r2')
  t.strictSame((await companies(t, app)).map((company) => [company.company_id, company.metadata, company.user_count, company.last_touched_by]), [
    ['c1', { name: 'Acme', plan: 'growth', seats: 5 }, 2, byRequest('r2')]
  ], '`id` (the guide) and `company_id` (the OpenAPI file) both name it; other keys are its properties')
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', company: { id: 'c2' } }))
  t.strictSame((await users(t, app)).map((user) => [user.user_id, user.company_id, user.metadata]), [['u1', 'c2', {}], ['u2', 'c1', {}]], 'a new company moves the user')
  t.strictSame((await companies(t, app)).map((company) => [company.company_id, company.user_count]), [['c1', 1], ['c2', 1]])
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u2' }))
  const [latest] = await events(t, app)
  t.equal(latest?.company_id, 'c1', 'an identify without a company carries the user\'s company')
  t.strictSame((await events(t, app, '?company_id=c2')).map((event) => event.user_id), ['u1'])
})

t.test('a company object without an id: 400 missing_company_id, nothing stored', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await post(app, '/v1/identify', { user_id: 'u1', company: { name: 'Acme' } }), 400, [
    invalid('missing_company_id', 'The company object needs the company\'s id, as "id" (or "company_id"): {"company": {"id": "…", "name": "…"}}.', '/company/id')])
  t.strictSame(await users(t, app), [])
  t.strictSame(await events(t, app), [])
})

t.test('POST /v1/companies/identify: 202 {}, the company is merged and kept as an event', async (t) => {
  const { app } = await testApp(t)
  expectAccepted(t, await post(app, '/v1/companies/identify', { company_id: 'c1', metadata: { plan: 'pro', seats: 3 } }, { 'x-request-id': 'r1' }), 'r1')
  expectAccepted(t, await post(app, '/v1/companies/identify', { company_id: 'c1', metadata: { seats: null } }, { 'x-request-id': 'r2' }), 'r2')
  t.strictSame(await companies(t, app), [{
    key_id: ENV, company_id: 'c1', metadata: { plan: 'pro' }, user_count: 0, created_at: isoAt(0), updated_at: isoAt(0), last_touched_by: byRequest('r2'), last_job_id: null, deletion_scheduled_at: null
  }])
  t.strictSame((await events(t, app)).map((event) => [event.event_type, event.user_id, event.company_id, event.request_id]), [
    ['identify_company', null, 'c1', 'r2'], ['identify_company', null, 'c1', 'r1']
  ])
  const [entry] = await journal(t, app)
  t.strictSame(entry?.warnings, [], 'the companies page lists Accept, not X-API-Version: no warning without it either')
  expectAccepted(t, await app.inject({ method: 'POST', url: '/v1/companies/identify', headers: { ...auth(), 'content-type': 'application/json' }, payload: { company_id: 'c2' } }))
  t.strictSame((await journal(t, app))[0]?.warnings, [])
})

t.test('POST /v1/track: an event with the user\'s company; no profile change', async (t) => {
  const { app, clock } = await testApp(t)
  await post(app, '/v1/identify', { user_id: 'u1', company: { id: 'c1' } })
  const before = await users(t, app)
  await clock.advance(5)
  expectAccepted(t, await post(app, '/v1/track', { user_id: 'u1', event_name: 'Subscription Renewed', metadata: { plan: 'pro' } }, { 'x-request-id': 'track-1' }), 'track-1')
  t.strictSame(await users(t, app), before, 'the profile is as it was')
  const [event] = await events(t, app, '?event_type=track')
  t.strictSame(event, { key_id: ENV, event_type: 'track', event_name: 'Subscription Renewed', user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro' }, source: 'backend-http', inserted_at: isoAt(5), request_id: 'track-1' })
  t.strictSame((await events(t, app, '?event_name=Subscription%20Renewed')).length, 1)
})

t.test('track of a user never identified: 202, kept, with an unknown_user warning', async (t) => {
  const { app } = await testApp(t)
  expectAccepted(t, await post(app, '/v1/track', { user_id: 'ghost', event_name: 'Clicked' }))
  t.strictSame((await events(t, app)).map((event) => [event.user_id, event.company_id, event.metadata]), [['ghost', null, {}]])
  t.strictSame((await journal(t, app))[0]?.warnings, [{
    code: 'unknown_user',
    message: 'No user with this user_id has been identified for this API key; Userpilot\'s docs say a tracked user must be identified first. The event is kept.',
    path: '/user_id'
  }])
  t.strictSame(await users(t, app), [], 'no profile is made for it')
})

t.test('nested metadata is kept as sent, with a nested_metadata warning per value', async (t) => {
  const { app } = await testApp(t)
  const metadata = { name: 'Jane', company: { id: 'c9', name: 'Acme' }, tags: ['a', 'b'] }
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', metadata }))
  t.strictSame((await users(t, app))[0]?.metadata, metadata, 'stored as sent')
  t.strictSame((await users(t, app))[0]?.company_id, null, 'a company inside metadata is a property, not a move')
  t.strictSame((await journal(t, app))[0]?.warnings.map((warning) => [warning.code, warning.path]), [['nested_metadata', '/metadata/company'], ['nested_metadata', '/metadata/tags']])
  expectAccepted(t, await post(app, '/v1/identify', { user_id: 'u1', company: { id: 'c1', address: { city: 'Berlin' } } }))
  t.strictSame((await journal(t, app))[0]?.warnings.map((warning) => [warning.code, warning.path, warning.message]), [
    ['nested_metadata', '/company/address', '/company/address is an object: Userpilot documents only strings, numbers, booleans and null as property values. The mock keeps it as sent.']
  ], 'the company object\'s properties too')
  expectAccepted(t, await post(app, '/v1/track', { user_id: 'u1', event_name: 'e', metadata: { items: [1, 2] } }))
  t.strictSame((await journal(t, app))[0]?.warnings.map((warning) => warning.message), ['/metadata/items is an array: Userpilot documents only strings, numbers, booleans and null as property values. The mock keeps it as sent.'])
})

t.test('the documented 400s: each its own error_code and JSON path', async (t) => {
  const { app } = await testApp(t)
  const cases: Array<[string, unknown, ReturnType<typeof invalid>[]]> = [
    ['/v1/identify', {}, [invalid('missing_user_id', 'user_id is required: each request needs a non-empty string user_id.', '/user_id')]],
    ['/v1/identify', { user_id: '' }, [invalid('empty_user_id', 'user_id is empty: it must be a non-empty string.', '/user_id')]],
    ['/v1/identify', { user_id: 7 }, [invalid('invalid_user_id', 'user_id must be a string.', '/user_id')]],
    ['/v1/identify', { user_id: 'u', metadata: 'x' }, [invalid('invalid_metadata', 'metadata must be an object of properties.', '/metadata')]],
    ['/v1/identify', { user_id: 'u', metadata: { '': 1 } }, [invalid('invalid_metadata_key', 'metadata has a key that is empty or longer than 255 characters: "".', '/metadata/')]],
    ['/v1/identify', { user_id: 'u', company: 'c1' }, [invalid('invalid_company', 'company must be an object of properties.', '/company')]],
    ['/v1/identify', { user_id: 'u', company: { id: '' } }, [invalid('empty_company_id', 'company.id is empty: the company\'s id must be a non-empty string.', '/company/id')]],
    ['/v1/identify', { user_id: 'u', company: { company_id: 5 } }, [invalid('invalid_company_id', 'company.company_id must be a string: the company\'s id.', '/company/company_id')]],
    ['/v1/identify', [], [invalid('invalid_body', 'The body must be a JSON object with "user_id" (and optionally "metadata", "company").', 'body')]],
    ['/v1/track', { user_id: 'u' }, [invalid('missing_event_name', 'event_name is required: each request needs a non-empty string event_name.', '/event_name')]],
    ['/v1/track', { event_name: 'e' }, [invalid('missing_user_id', 'user_id is required: each request needs a non-empty string user_id.', '/user_id')]],
    ['/v1/track', 'null', [invalid('invalid_body', 'The body must be a JSON object with "user_id", "event_name" (and optionally "metadata").', 'body')]],
    ['/v1/companies/identify', { metadata: {} }, [invalid('missing_company_id', 'company_id is required: each request needs a non-empty string company_id.', '/company_id')]],
    ['/v1/companies/identify', { company_id: 'c', metadata: { n: Number.MAX_VALUE, bad: {} } }, []]
  ]
  for (const [url, body, errors] of cases) {
    const res = await post(app, url, body)
    if (errors.length === 0) expectAccepted(t, res)
    else expectErrors(t, res, 400, errors)
  }
  const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]))
  expectErrors(t, await post(app, '/v1/identify', { user_id: 'u', metadata: many }), 400, [
    invalid('too_many_metadata_keys', 'metadata has more than 1000 properties: send the rest in another request.', '/metadata')])
  t.strictSame(await users(t, app), [], 'nothing stored by a refused request')
})

t.test('MOCK_METADATA=strings: numbers refused in real-time metadata as in bulk rows', async (t) => {
  const { app } = await testApp(t, { MOCK_METADATA: 'strings' })
  expectErrors(t, await post(app, '/v1/track', { user_id: 'u', event_name: 'e', metadata: { n: 1 } }), 400, [
    invalid('invalid_metadata_value', 'metadata["n"] is not accepted. Expected: A string, or null to remove the property (MOCK_METADATA=strings). An object or array is kept as sent, with a nested_metadata warning.', '/metadata/n')])
  expectAccepted(t, await post(app, '/v1/track', { user_id: 'u', event_name: 'e', metadata: { s: '1', n: null } }))
})

t.test('order of checks: 401, then 415, then 413, then 400 malformed, then 400 validation', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: 'good', MOCK_REALTIME_BODY_LIMIT: 1024 })
  const big = JSON.stringify({ user_id: 'u', metadata: { pad: 'x'.repeat(2000) } })
  const send = (headers: Record<string, string>, payload?: string): Promise<LightMyRequestResponse> =>
    app.inject({ method: 'POST', url: '/v1/identify', headers, ...(payload === undefined ? {} : { payload }) })
  t.equal((await send({ authorization: 'Token bad', 'content-type': 'text/plain' }, big)).statusCode, 401, 'the key first')
  expectErrors(t, await send({ authorization: 'Token good', 'content-type': 'text/plain' }, big), 415, [{
    error: 'unsupported_media_type', error_code: 'unsupported_content_type', message: 'Send the body as Content-Type: application/json.', details: 'content-type "text/plain"'
  }])
  expectErrors(t, await send({ authorization: 'Token good' }), 415, [{
    error: 'unsupported_media_type', error_code: 'unsupported_content_type', message: 'Send the body as Content-Type: application/json.', details: 'content-type "(none)"'
  }])
  expectErrors(t, await send({ authorization: 'Token good', 'content-type': 'application/json' }, big), 413, [{
    error: 'payload_too_large', error_code: 'body_too_large', message: 'The request body is larger than 1024 bytes (MOCK_REALTIME_BODY_LIMIT): a real-time call carries one profile or event; send many through the bulk endpoints.', details: 'limit 1024 bytes'
  }])
  t.equal((await send({ authorization: 'Token good', 'content-type': 'application/json' }, '{"user_id":')).json<{ errors: Array<{ error_code: string }> }>().errors[0]?.error_code, 'malformed_json')
  t.equal((await send({ authorization: 'Token good', 'content-type': 'application/json' }, '{}')).json<{ errors: Array<{ error_code: string }> }>().errors[0]?.error_code, 'missing_user_id')
})

t.test('GET /v1/validate: 200 {} for an accepted key, 401 otherwise; journaled', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: KEY })
  const ok = await app.inject({ method: 'GET', url: '/v1/validate', headers: { ...auth(), 'x-api-version': '2020-09-22' } })
  t.equal(ok.statusCode, 200)
  assertStandardHeaders(t, ok)
  t.strictSame(ok.json(), {})
  const refused = await app.inject({ method: 'GET', url: '/v1/validate', headers: auth('not-a-key') })
  t.equal(refused.statusCode, 401)
  t.equal(refused.json<{ errors: Array<{ error_code: string }> }>().errors[0]?.error_code, 'invalid_api_key')
  t.strictSame((await journal(t, app)).map((entry) => [entry.path, entry.status]), [['/v1/validate', 200]])
})

t.test('tenancy: another key sees none of it', async (t) => {
  const { app } = await testApp(t)
  await post(app, '/v1/identify', { user_id: 'u1' })
  await post(app, '/v1/track', { user_id: 'u1', event_name: 'e' })
  t.strictSame(expectOk(t, await control(app, 'GET', '/events', { key: 'other' }), Type.Array(MockEvent)), [])
  t.strictSame(expectOk(t, await control(app, 'GET', '/users', { key: 'other' }), Type.Array(MockUser)), [])
  t.equal(expectOk<MockEvent[]>(t, await control(app, 'GET', '/events?all=1', { key: null }), Type.Array(MockEvent)).length, 2, '?all=1 sees every key')
})

t.test('faults apply to the real-time routes as to the bulk ones', async (t) => {
  const { app } = await testApp(t)
  await control(app, 'POST', '/faults', { payload: { match: { path: '/v1/track' }, status: 503 } })
  const res = await post(app, '/v1/track', { user_id: 'u1', event_name: 'e' })
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '1')
  t.strictSame(await events(t, app), [], 'the faulted call did nothing')
  expectAccepted(t, await post(app, '/v1/track', { user_id: 'u1', event_name: 'e' }))
})
