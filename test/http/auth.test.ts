import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { ErrorEntry } from '../../schemas/errors.js'
import type { JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { bulkUsers, getJob, testApp } from '../helpers/app.js'
import { expectAccepted, expectErrors, expectJobList, jobView, listJobs } from '../helpers/http.js'

const EXPECTED = 'Expected the header "Authorization: Token <API_KEY>".'

const MESSAGES = {
  missing_authorization: `The Authorization header is missing. ${EXPECTED}`,
  invalid_auth_scheme: `The Authorization header uses another scheme. ${EXPECTED}`,
  missing_api_key: `The Authorization header has no API key after "Token". ${EXPECTED}`,
  invalid_api_key: `The API key is not one this mock accepts (MOCK_API_KEYS). ${EXPECTED}`
} as const

type Failure = keyof typeof MESSAGES

function unauthorized (code: Failure): ErrorEntry[] {
  return [{ error: 'unauthorized', error_code: code, message: MESSAGES[code], details: 'header authorization' }]
}

/** The three /v1 endpoints, called with exactly these headers. */
function everyEndpoint (app: FastifyInstance, headers: Record<string, string>): Array<Promise<LightMyRequestResponse>> {
  return [
    bulkUsers(app, { users: [{ user_id: 'u1' }] }, headers),
    getJob(app, 'bulk:jobs:NX-00000000:00000000-0000-4000-8000-000000000000', headers),
    listJobs(app, '', headers)
  ]
}

const SMALL = { totalRows: 1, fileSize: 28 }

t.test('refusals: 401 with the envelope on every /v1 endpoint', async (t) => {
  const { app } = await testApp(t)
  const cases: Array<[string, Record<string, string>, Failure]> = [
    ['no Authorization header', {}, 'missing_authorization'],
    ['an empty header', { authorization: '' }, 'missing_authorization'],
    ['only spaces', { authorization: '    ' }, 'missing_authorization'],
    ['Bearer scheme', { authorization: 'Bearer test-key-1' }, 'invalid_auth_scheme'],
    ['Basic scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'invalid_auth_scheme'],
    ['the key alone', { authorization: 'test-key-1' }, 'invalid_auth_scheme'],
    ['scheme glued to the key', { authorization: 'Tokentest-key-1' }, 'invalid_auth_scheme'],
    ['Token without a key', { authorization: 'Token' }, 'missing_api_key'],
    ['Token and spaces', { authorization: 'Token     ' }, 'missing_api_key'],
    ['lower-case token without a key', { authorization: 'token' }, 'missing_api_key']
  ]
  for (const [name, headers, code] of cases) {
    t.test(name, async (t) => {
      for (const res of await Promise.all(everyEndpoint(app, headers))) expectErrors(t, res, 401, unauthorized(code))
    })
  }
})

t.test('the scheme word is case-insensitive and spaces around are ignored', async (t) => {
  const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
  const jobs: JobAccepted[] = []
  for (const authorization of ['Token key-x', 'token key-x', 'TOKEN key-x', 'ToKeN key-x', '  Token    key-x  ', 'Token\tkey-x']) {
    const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization })
    jobs.push(expectAccepted(t, res, { ...SMALL, key: 'key-x' }))
  }
  const views = jobs.reverse().map((job) => jobView(job, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
  expectJobList(t, await listJobs(app, '', { authorization: 'Token key-x' }), views)
})

t.test('MOCK_API_KEYS empty: any non-empty key is accepted, each its own tenant', async (t) => {
  const { app } = await testApp(t)
  for (const key of ['anything-at-all', 'k', 'a key with spaces', 'ключ']) {
    const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization: `Token ${key}` })
    expectAccepted(t, res, { ...SMALL, key })
  }
  t.not(tenantOf('k').envId, tenantOf('K').envId, 'keys are case-sensitive tenants')
})

t.test('MOCK_API_KEYS set: only those keys', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: ' key-a , key-b,,' })
  expectAccepted(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization: 'Token key-a' }), { ...SMALL, key: 'key-a' })
  expectAccepted(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization: 'token key-b' }), { ...SMALL, key: 'key-b' })
  for (const key of ['key-c', 'KEY-A', 'key-a,key-b', 'key-', 'key-a key-b']) {
    for (const res of await Promise.all(everyEndpoint(app, { authorization: `Token ${key}` }))) {
      expectErrors(t, res, 401, unauthorized('invalid_api_key'))
    }
  }
  for (const res of await Promise.all(everyEndpoint(app, { authorization: 'Token ' }))) {
    expectErrors(t, res, 401, unauthorized('missing_api_key'))
  }
})

t.test('a refused request changes nothing', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: 'key-a' })
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization: 'Token key-z' }), 401, unauthorized('invalid_api_key'))
  expectJobList(t, await listJobs(app, '', { authorization: 'Token key-a' }), [])
  t.equal(await app.mock.store.profiles.getUser(tenantOf('key-z').id, 'u1'), undefined)
})
