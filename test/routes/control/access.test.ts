import t from 'tap'
import { MockExport } from '../../../schemas/exports.js'
import { Type } from '@sinclair/typebox'
import { Fault, FlushResult, JournalEntry, MockCompany, MockDeletion, MockEvent, MockJob, MockUser, ResetResult } from '../../../schemas/control.js'
import { ErrorEnvelope, type ErrorEntry } from '../../../schemas/errors.js'
import { Health } from '../../../schemas/health.js'
import { AUTH_MESSAGES } from '../../../src/http/auth.js'
import type { AuthFailure } from '../../../src/tenant.js'
import { assertSchema, testApp } from '../../helpers/app.js'
import { control, expectErrors, expectOk } from '../../helpers/http.js'

const ADMIN = 'admin-secret'

/** Every control route but health, with a URL that reaches it. */
const ROUTES = [
  ['GET', '/users'],
  ['GET', '/users/u1'],
  ['GET', '/companies'],
  ['GET', '/companies/c1'],
  ['GET', '/jobs'],
  ['GET', '/jobs/j1'],
  ['POST', '/jobs/j1/advance'],
  ['POST', '/jobs/j1/fail'],
  ['POST', '/clock/flush'],
  ['GET', '/requests'],
  ['GET', '/events'],
  ['GET', '/deletions'],
  ['POST', '/faults'],
  ['GET', '/faults'],
  ['DELETE', '/faults'],
  ['POST', '/reset'],
  ['GET', '/exports'],
  ['POST', '/exports/x1/advance'],
  ['POST', '/exports/x1/fail'],
  ['PUT', '/lookups/flows']
] as const

/** The routes that answer 200 with an empty state, and the schema of that answer. */
const READS = [
  ['GET', '/users', Type.Array(MockUser), []],
  ['GET', '/companies', Type.Array(MockCompany), []],
  ['GET', '/jobs', Type.Array(MockJob), []],
  ['GET', '/requests', Type.Array(JournalEntry), []],
  ['GET', '/events', Type.Array(MockEvent), []],
  ['GET', '/deletions', Type.Array(MockDeletion), []],
  ['GET', '/faults', Type.Array(Fault), []],
  ['POST', '/clock/flush', FlushResult, { finished: 0, deleted: { users: 0, companies: 0 } }],
  ['GET', '/exports', Type.Array(MockExport), []]
] as const

function authFailure (failure: AuthFailure): ErrorEntry {
  return {
    error: 'unauthorized',
    error_code: failure,
    message: `${AUTH_MESSAGES[failure]} Control calls are scoped to that key; add ?all=1 to see every key.`,
    details: 'header authorization'
  }
}

function adminFailure (code: 'missing_admin_token' | 'invalid_admin_token'): ErrorEntry {
  return {
    error: 'unauthorized',
    error_code: code,
    message: 'This mock protects its control API: send the header "X-Mock-Admin: <MOCK_ADMIN_TOKEN>".',
    details: 'header x-mock-admin'
  }
}

t.test('without a key and without ?all=1: 401 on every control route', async (t) => {
  const { app } = await testApp(t)
  for (const [method, url] of ROUTES) {
    t.test(`${method} ${url}`, async (t) => {
      expectErrors(t, await control(app, method, url, { key: null }), 401, [authFailure('missing_authorization')])
    })
  }
})

t.test('ROUTES lists every control route the app serves (but health and the page), so none escapes the checks below', async (t) => {
  const { app } = await testApp(t)
  const paths = app.inject({ method: 'GET', url: '/documentation/json' }).then((res) => res.json<{ paths: Record<string, Record<string, unknown>> }>().paths)
  const served = Object.entries(await paths)
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
    .filter((route) => route.includes(' /__mock/') && !/ \/__mock\/(health$|ui)/.test(route))
  const listed = ROUTES.map(([method, url]) => `${method} /__mock${url.replace('/u1', '/{user_id}').replace('/c1', '/{company_id}').replace('/j1', '/{job_id}').replace('/x1', '/{job_id}').replace('/flows', '/{name}')}`)
  t.same([...served].sort(), [...listed].sort())
})

t.test('?all=0 and ?all=false do not span every key', async (t) => {
  const { app } = await testApp(t)
  for (const all of ['0', 'false', '']) {
    expectErrors(t, await control(app, 'GET', `/users?all=${all}`, { key: null }), 401, [authFailure('missing_authorization')])
  }
})

t.test('?all=1 and ?all=true need no key', async (t) => {
  const { app } = await testApp(t)
  for (const all of ['1', 'true']) {
    for (const [method, url, schema, empty] of READS) {
      t.test(`${method} ${url}?all=${all}`, async (t) => {
        const body = expectOk(t, await control(app, method, `${url}?all=${all}`, { key: null }), schema)
        t.same(body, empty)
      })
    }
  }
  const reset = expectOk(t, await control(app, 'POST', '/reset?all=1', { key: null }), ResetResult)
  t.same(reset, { reset: 'all' })
})

t.test('a key is checked as the API checks it, ?all=1 or not', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: 'good-key' })
  const cases: Array<[string, AuthFailure]> = [
    ['Bearer good-key', 'invalid_auth_scheme'],
    ['Token', 'missing_api_key'],
    ['Token   ', 'missing_api_key'],
    ['Token other-key', 'invalid_api_key'],
    ['', 'missing_authorization']
  ]
  for (const [header, failure] of cases) {
    for (const query of ['', '?all=1']) {
      const res = await control(app, 'GET', `/users${query}`, { key: null, headers: { authorization: header } })
      expectErrors(t, res, 401, [authFailure(failure)])
    }
  }
  t.same(expectOk(t, await control(app, 'GET', '/users', { key: 'good-key' }), Type.Array(MockUser)), [])
  t.same(expectOk(t, await control(app, 'GET', '/users?all=1', { key: 'good-key' }), Type.Array(MockUser)), [], 'a good key with ?all=1')
  t.same(expectOk(t, await control(app, 'GET', '/users', { key: null, headers: { authorization: 'token good-key' } }), Type.Array(MockUser)), [], 'the scheme word in any case')
})

t.test('an unknown control route is a 404 route_not_found, key or not', async (t) => {
  const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN })
  const res = await control(app, 'GET', '/nothing-here', { key: null })
  t.equal(res.statusCode, 404)
  const body = expectOneError(t, res)
  // The list of routes in the message belongs to the not-found handler (tested with it).
  t.match(body.errors[0]?.message, /^There is no GET "\/__mock\/nothing-here" route\. \/documentation lists what the mock serves/)
  t.same({ ...body.errors[0], message: '' }, { error: 'not_found', error_code: 'route_not_found', message: '', details: 'GET "/__mock/nothing-here"' })
})

function expectOneError (t: Parameters<typeof assertSchema>[0], res: Awaited<ReturnType<typeof control>>): ErrorEnvelope {
  const body = res.json<ErrorEnvelope>()
  assertSchema(t, ErrorEnvelope, body, 'an ErrorEnvelope')
  t.equal(body.errors.length, 1)
  return body
}

t.test('MOCK_ADMIN_TOKEN', async (t) => {
  t.test('every control call but health needs X-Mock-Admin: missing → missing_admin_token, wrong → invalid_admin_token', async (t) => {
    const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN })
    for (const [method, url] of ROUTES) {
      t.test(`${method} ${url}`, async (t) => {
        expectErrors(t, await control(app, method, url), 401, [adminFailure('missing_admin_token')])
        expectErrors(t, await control(app, method, `${url}?all=1`, { key: null }), 401, [adminFailure('missing_admin_token')])
        expectErrors(t, await control(app, method, url, { headers: { 'x-mock-admin': 'wrong' } }), 401, [adminFailure('invalid_admin_token')])
        expectErrors(t, await control(app, method, url, { headers: { 'x-mock-admin': `${ADMIN}x` } }), 401, [adminFailure('invalid_admin_token')])
        expectErrors(t, await control(app, method, url, { headers: { 'x-mock-admin': '' } }), 401, [adminFailure('invalid_admin_token')])
      })
    }
  })

  t.test('the admin token is checked before the key', async (t) => {
    const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN })
    expectErrors(t, await control(app, 'GET', '/users', { key: null }), 401, [adminFailure('missing_admin_token')])
    expectErrors(t, await control(app, 'GET', '/users', { key: null, headers: { 'x-mock-admin': ADMIN } }), 401, [authFailure('missing_authorization')])
  })

  t.test('with the right token, calls work with a key or with ?all=1', async (t) => {
    const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN })
    const admin = { 'x-mock-admin': ADMIN }
    for (const [method, url, schema, empty] of READS) {
      t.same(expectOk(t, await control(app, method, url, { headers: admin }), schema), empty, `${method} ${url}`)
      t.same(expectOk(t, await control(app, method, `${url}?all=1`, { key: null, headers: admin }), schema), empty, `${method} ${url}?all=1`)
    }
    t.same(expectOk(t, await control(app, 'POST', '/reset', { headers: admin }), ResetResult), { reset: 'key' })
  })

  t.test('GET /__mock/health never needs auth', async (t) => {
    const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN, MOCK_API_KEYS: 'good-key' })
    for (const headers of [{}, { 'x-mock-admin': 'wrong', authorization: 'Token bad' }]) {
      const res = await app.inject({ method: 'GET', url: '/__mock/health', headers })
      t.same(expectOk(t, res, Health), { status: 'ok', version: res.json<Health>().version, uptime_s: 0 })
    }
  })

  t.test('the /v1 API does not need it', async (t) => {
    const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: ADMIN })
    const res = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: { authorization: 'Token k' } })
    t.equal(res.statusCode, 200)
    t.same(res.json(), [])
  })
})
