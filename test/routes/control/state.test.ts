import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { JournalEntry, MockCompany, MockJob, MockUser, ResetResult, Fault } from '../../../schemas/control.js'
import type { ErrorEntry } from '../../../schemas/errors.js'
import type { JobAccepted } from '../../../schemas/jobs.js'
import type { ManualClock } from '../../../src/clock.js'
import { tenantOf } from '../../../src/tenant.js'
import { KEY, assertSchema, auth, testApp, users } from '../../helpers/app.js'
import {
  CLOCK_START, acceptUsers, bulkCompanies, control, expectAcceptedJob, expectErrors, expectOk, invalid, isoAt
} from '../../helpers/http.js'

const OTHER = 'test-key-2'
const ENV = tenantOf(KEY).envId
const OTHER_ENV = tenantOf(OTHER).envId

const UserList = Type.Array(MockUser)
const CompanyList = Type.Array(MockCompany)

/** Runs a job to its end through the control API. */
async function complete (t: Test, app: FastifyInstance, jobId: string, key = KEY): Promise<void> {
  const res = await control(app, 'POST', `/jobs/${jobId}/advance`, { key, payload: { to: 'completed' } })
  t.equal(res.json<MockJob>().status, 'completed', 'the job completed')
}

/** Identifies users now (on the manual clock) and completes the job; returns the 202 body. */
async function identifyUsers (t: Test, app: FastifyInstance, clock: ManualClock, rows: Array<Record<string, unknown>>, key = KEY): Promise<JobAccepted> {
  const job = await acceptUsers(t, app, rows, { key, at: clock.now() - CLOCK_START })
  await complete(t, app, job.job_id, key)
  return job
}

/** Identifies companies now and completes the job; returns the 202 body. */
async function identifyCompanies (t: Test, app: FastifyInstance, clock: ManualClock, rows: Array<Record<string, unknown>>, key = KEY): Promise<JobAccepted> {
  const payload = JSON.stringify({ companies: rows })
  const job = expectAcceptedJob(t, await bulkCompanies(app, payload, auth(key)), { type: 'companies', totalRows: rows.length, fileSize: Buffer.byteLength(payload), at: clock.now(), key })
  await complete(t, app, job.job_id, key)
  return job
}

function user (jobId: string, userId: string, fields: { companyId?: string | null, metadata?: MockUser['metadata'], created?: number, updated?: number, env?: string } = {}): MockUser {
  return {
    key_id: fields.env ?? ENV,
    user_id: userId,
    company_id: fields.companyId ?? null,
    metadata: fields.metadata ?? {},
    created_at: isoAt(fields.created ?? 0),
    updated_at: isoAt(fields.updated ?? fields.created ?? 0),
    last_touched_by: { type: 'job', id: jobId },
    last_job_id: jobId,
    deletion_scheduled_at: null
  }
}

function company (jobId: string, companyId: string, userCount: number, fields: { metadata?: MockCompany['metadata'], created?: number, updated?: number, env?: string } = {}): MockCompany {
  return {
    key_id: fields.env ?? ENV,
    company_id: companyId,
    metadata: fields.metadata ?? {},
    user_count: userCount,
    created_at: isoAt(fields.created ?? 0),
    updated_at: isoAt(fields.updated ?? fields.created ?? 0),
    last_touched_by: { type: 'job', id: jobId },
    last_job_id: jobId,
    deletion_scheduled_at: null
  }
}

function notFound (what: 'user' | 'company', id: string): [ErrorEntry] {
  return [{
    error: 'not_found',
    error_code: `${what}_not_found`,
    message: `No ${what} with this id exists for this API key (add ?all=1 to look across keys).`,
    details: `${what} ${JSON.stringify(id)}`
  }]
}

t.test('GET /__mock/users', async (t) => {
  t.test('no users yet: an empty list', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    t.same(expectOk(t, await control(app, 'GET', '/users'), UserList), [])
  })

  t.test('users of this key in first-identified order, with every field', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const first = await identifyUsers(t, app, clock, [
      { user_id: 'ada', company_id: 'acme', metadata: { plan: 'pro', seats: 3, admin: true } },
      { user_id: 'bob' }
    ])
    await clock.advance(1500)
    const second = await identifyUsers(t, app, clock, [
      { user_id: 'cy', company_id: 'initech' },
      { user_id: 'ada', company_id: 'initech', metadata: { plan: null, seats: 4, 'a b': 'x' } }
    ])
    const list = expectOk(t, await control(app, 'GET', '/users'), UserList)
    t.same(list, [
      user(second.job_id, 'ada', { companyId: 'initech', metadata: { seats: 4, admin: true, 'a b': 'x' }, created: 0, updated: 1500 }),
      user(first.job_id, 'bob'),
      user(second.job_id, 'cy', { companyId: 'initech', created: 1500 })
    ])
  })

  t.test('pagination: 50 by default, then limit and offset', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await identifyUsers(t, app, clock, users(60))
    const page = async (query: string): Promise<string[]> => expectOk<MockUser[]>(t, await control(app, 'GET', `/users${query}`), UserList).map((entry) => entry.user_id)
    t.same(await page(''), users(50).map((row) => row.user_id), 'the first 50')
    t.same(await page('?limit=3'), ['u0', 'u1', 'u2'])
    t.same(await page('?limit=3&offset=58'), ['u58', 'u59'])
    t.same(await page('?offset=55'), ['u55', 'u56', 'u57', 'u58', 'u59'])
    t.same(await page('?offset=60'), [])
    t.same(await page('?limit=1000'), users(60).map((row) => row.user_id))
    const [one] = expectOk<MockUser[]>(t, await control(app, 'GET', '/users?limit=1&offset=59'), UserList)
    t.same(one, user(job.job_id, 'u59'))
  })

  t.test('invalid limit and offset: 400 invalid_parameter', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const cases: Array<[string, string, string]> = [
      ['limit=0', 'limit', 'Expected integer to be greater or equal to 1'],
      ['limit=1001', 'limit', 'Expected integer to be less or equal to 1000'],
      ['limit=abc', 'limit', 'Expected integer'],
      ['offset=-1', 'offset', 'Expected integer to be greater or equal to 0'],
      ['offset=x', 'offset', 'Expected integer']
    ]
    for (const [query, name, problem] of cases) {
      expectErrors(t, await control(app, 'GET', `/users?${query}`), 400, [invalid(
        'invalid_parameter', `The querystring parameter "${name}" is not valid: ${problem}.`, `querystring/${name}`)])
    }
  })

  t.test('?company_id= keeps that company\'s users', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await identifyUsers(t, app, clock, [
      { user_id: 'u1', company_id: 'c1' },
      { user_id: 'u2', company_id: 'c2' },
      { user_id: 'u3', company_id: 'c1' },
      { user_id: 'u4' }
    ])
    t.same(expectOk(t, await control(app, 'GET', '/users?company_id=c1'), UserList), [
      user(job.job_id, 'u1', { companyId: 'c1' }),
      user(job.job_id, 'u3', { companyId: 'c1' })
    ])
    t.same(expectOk<MockUser[]>(t, await control(app, 'GET', '/users?company_id=c1&limit=1&offset=1'), UserList).map((entry) => entry.user_id), ['u3'])
    t.same(expectOk(t, await control(app, 'GET', '/users?company_id=none'), UserList), [])
    t.same(expectOk<MockUser[]>(t, await control(app, 'GET', '/users?company_id=c1&all=1', { key: null }), UserList).map((entry) => entry.user_id), ['u1', 'u3'], 'with ?all=1 too')
  })

  t.test('another key\'s users are not listed; ?all=1 lists every key\'s', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const mine = await identifyUsers(t, app, clock, [{ user_id: 'u1' }, { user_id: 'shared' }])
    const theirs = await identifyUsers(t, app, clock, [{ user_id: 'shared', metadata: { who: 'other' } }, { user_id: 'u9' }], OTHER)
    t.same(expectOk(t, await control(app, 'GET', '/users'), UserList), [user(mine.job_id, 'u1'), user(mine.job_id, 'shared')])
    t.same(expectOk(t, await control(app, 'GET', '/users', { key: OTHER }), UserList), [
      user(theirs.job_id, 'shared', { metadata: { who: 'other' }, env: OTHER_ENV }),
      user(theirs.job_id, 'u9', { env: OTHER_ENV })
    ])
    const all = [
      user(mine.job_id, 'u1'),
      user(mine.job_id, 'shared'),
      user(theirs.job_id, 'shared', { metadata: { who: 'other' }, env: OTHER_ENV }),
      user(theirs.job_id, 'u9', { env: OTHER_ENV })
    ]
    t.same(expectOk(t, await control(app, 'GET', '/users?all=1', { key: null }), UserList), all)
    t.same(expectOk(t, await control(app, 'GET', '/users?all=1'), UserList), all, 'a key with ?all=1 spans every key too')
    t.same(expectOk(t, await control(app, 'GET', '/users?all=1&limit=2&offset=1', { key: null }), UserList), all.slice(1, 3), 'one page across keys')
    t.same(expectOk(t, await control(app, 'GET', '/users?all=1&offset=3', { key: null }), UserList), all.slice(3))
  })
})

t.test('GET /__mock/users/:user_id', async (t) => {
  t.test('one user with every field', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await identifyUsers(t, app, clock, [{ user_id: 'ada', company_id: 'acme', metadata: { plan: 'pro' } }, { user_id: 'a b/c?d' }])
    t.same(expectOk(t, await control(app, 'GET', '/users/ada'), MockUser), user(job.job_id, 'ada', { companyId: 'acme', metadata: { plan: 'pro' } }))
    t.same(expectOk(t, await control(app, 'GET', `/users/${encodeURIComponent('a b/c?d')}`), MockUser), user(job.job_id, 'a b/c?d'), 'a percent-encoded id')
  })

  t.test('metadata keys like __proto__ and constructor come back as ordinary keys', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const payload = '{"users":[{"user_id":"p","metadata":{"__proto__":"x","constructor":1,"toString":false}}]}'
    const res = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: { ...auth(), 'content-type': 'application/json' }, payload })
    t.equal(res.statusCode, 202)
    await complete(t, app, res.json<JobAccepted>().job_id)
    const got = await control(app, 'GET', '/users/p')
    t.equal(got.statusCode, 200)
    const body = JSON.parse(got.body) as MockUser
    assertSchema(t, MockUser, body)
    t.same(Object.entries(body.metadata).sort(), [['__proto__', 'x'], ['constructor', 1], ['toString', false]], 'own keys with their values')
    t.equal(Object.getPrototypeOf(body.metadata), Object.prototype, 'the prototype was not replaced')
  })

  t.test('unknown: 404 user_not_found', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    expectErrors(t, await control(app, 'GET', '/users/nope'), 404, notFound('user', 'nope'))
    expectErrors(t, await control(app, 'GET', '/users/nope?all=1', { key: null }), 404, notFound('user', 'nope'))
    const [entry] = notFound('user', 'long')
    expectErrors(t, await control(app, 'GET', `/users/${'x'.repeat(130)}`), 404, [{ ...entry, details: `user "${'x'.repeat(120)}…"` }])
  })

  t.test('another key\'s user is 404 unless ?all=1', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const theirs = await identifyUsers(t, app, clock, [{ user_id: 'theirs' }], OTHER)
    expectErrors(t, await control(app, 'GET', '/users/theirs'), 404, notFound('user', 'theirs'))
    const expected = user(theirs.job_id, 'theirs', { env: OTHER_ENV })
    t.same(expectOk(t, await control(app, 'GET', '/users/theirs?all=1'), MockUser), expected)
    t.same(expectOk(t, await control(app, 'GET', '/users/theirs?all=1', { key: null }), MockUser), expected)
  })

  t.test('the same id under two keys: with ?all=1, the first key that has it', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const mine = await identifyUsers(t, app, clock, [{ user_id: 'same' }])
    await identifyUsers(t, app, clock, [{ user_id: 'same' }], OTHER)
    t.same(expectOk(t, await control(app, 'GET', '/users/same?all=1', { key: null }), MockUser), user(mine.job_id, 'same'))
  })
})

t.test('GET /__mock/companies', async (t) => {
  t.test('companies with user_count derived from the users', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const companies = await identifyCompanies(t, app, clock, [
      { company_id: 'acme', metadata: { plan: 'pro', seats: 25 } },
      { company_id: 'initech' },
      { company_id: 'empty' }
    ])
    t.same(expectOk(t, await control(app, 'GET', '/companies'), CompanyList), [
      company(companies.job_id, 'acme', 0, { metadata: { plan: 'pro', seats: 25 } }),
      company(companies.job_id, 'initech', 0),
      company(companies.job_id, 'empty', 0)
    ], 'no users yet')

    await clock.advance(1000)
    await identifyUsers(t, app, clock, [
      { user_id: 'u1', company_id: 'acme' },
      { user_id: 'u2', company_id: 'acme' },
      { user_id: 'u3', company_id: 'initech' },
      { user_id: 'u4' }
    ])
    t.same(expectOk<MockCompany[]>(t, await control(app, 'GET', '/companies'), CompanyList).map((entry) => [entry.company_id, entry.user_count]),
      [['acme', 2], ['initech', 1], ['empty', 0]])

    await identifyUsers(t, app, clock, [{ user_id: 'u1', company_id: 'initech' }, { user_id: 'u4', company_id: 'empty' }])
    t.same(expectOk(t, await control(app, 'GET', '/companies'), CompanyList), [
      company(companies.job_id, 'acme', 1, { metadata: { plan: 'pro', seats: 25 } }),
      company(companies.job_id, 'initech', 2),
      company(companies.job_id, 'empty', 1)
    ], 'moved users count in their new company; the company records themselves are unchanged')
  })

  t.test('metadata merges and updated_at and last_job_id follow the latest job', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    await identifyCompanies(t, app, clock, [{ company_id: 'acme', metadata: { plan: 'pro', seats: 25 } }])
    await clock.advance(2000)
    const later = await identifyCompanies(t, app, clock, [{ company_id: 'acme', metadata: { plan: null, region: 'eu' } }])
    t.same(expectOk(t, await control(app, 'GET', '/companies/acme'), MockCompany),
      company(later.job_id, 'acme', 0, { metadata: { seats: 25, region: 'eu' }, created: 0, updated: 2000 }))
  })

  t.test('pagination: limit and offset, 50 by default', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    await identifyCompanies(t, app, clock, Array.from({ length: 55 }, (_, i) => ({ company_id: `c${i}` })))
    const page = async (query: string): Promise<string[]> => expectOk<MockCompany[]>(t, await control(app, 'GET', `/companies${query}`), CompanyList).map((entry) => entry.company_id)
    t.same(await page(''), Array.from({ length: 50 }, (_, i) => `c${i}`))
    t.same(await page('?limit=2&offset=53'), ['c53', 'c54'])
    t.same(await page('?offset=55'), [])
  })

  t.test('another key\'s companies are not listed; ?all=1 lists every key\'s', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const mine = await identifyCompanies(t, app, clock, [{ company_id: 'mine' }])
    const theirs = await identifyCompanies(t, app, clock, [{ company_id: 'theirs' }], OTHER)
    t.same(expectOk(t, await control(app, 'GET', '/companies'), CompanyList), [company(mine.job_id, 'mine', 0)])
    t.same(expectOk(t, await control(app, 'GET', '/companies?all=1', { key: null }), CompanyList), [
      company(mine.job_id, 'mine', 0),
      company(theirs.job_id, 'theirs', 0, { env: OTHER_ENV })
    ])
  })
})

t.test('GET /__mock/companies/:company_id', async (t) => {
  t.test('one company with its user count', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await identifyCompanies(t, app, clock, [{ company_id: 'acme', metadata: { name: 'Acme' } }])
    await identifyUsers(t, app, clock, [{ user_id: 'u1', company_id: 'acme' }, { user_id: 'u2', company_id: 'acme' }])
    t.same(expectOk(t, await control(app, 'GET', '/companies/acme'), MockCompany), company(job.job_id, 'acme', 2, { metadata: { name: 'Acme' } }))
  })

  t.test('unknown, or another key\'s: 404 company_not_found unless ?all=1', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const theirs = await identifyCompanies(t, app, clock, [{ company_id: 'theirs' }], OTHER)
    expectErrors(t, await control(app, 'GET', '/companies/nope'), 404, notFound('company', 'nope'))
    expectErrors(t, await control(app, 'GET', '/companies/theirs'), 404, notFound('company', 'theirs'))
    t.same(expectOk(t, await control(app, 'GET', '/companies/theirs?all=1', { key: null }), MockCompany), company(theirs.job_id, 'theirs', 0, { env: OTHER_ENV }))
    expectErrors(t, await control(app, 'GET', '/companies/nope?all=1', { key: null }), 404, notFound('company', 'nope'))
  })
})

t.test('POST /__mock/reset', async (t) => {
  /** Gives both keys users, companies, a job, a journal entry and a fault. */
  async function seed (t: Test, app: FastifyInstance, clock: ManualClock): Promise<void> {
    for (const key of [KEY, OTHER]) {
      await identifyCompanies(t, app, clock, [{ company_id: 'c1' }], key)
      await identifyUsers(t, app, clock, [{ user_id: 'u1', company_id: 'c1' }], key)
      t.equal((await control(app, 'POST', '/faults', { key, payload: { status: 503, match: { path: '/v1/nowhere' } } })).statusCode, 201)
    }
  }

  async function counts (app: FastifyInstance, key: string): Promise<Record<string, number>> {
    const count = async (url: string): Promise<number> => (await control(app, 'GET', url, { key })).json<unknown[]>().length
    return { users: await count('/users'), companies: await count('/companies'), jobs: await count('/jobs'), requests: await count('/requests'), faults: await count('/faults') }
  }

  t.test('forgets this key\'s users, companies, jobs, journal and faults; other keys are untouched', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    await seed(t, app, clock)
    const full = { users: 1, companies: 1, jobs: 2, requests: 2, faults: 1 }
    t.same(await counts(app, KEY), full, 'precondition')
    t.same(expectOk(t, await control(app, 'POST', '/reset'), ResetResult), { reset: 'key' })
    t.same(await counts(app, KEY), { users: 0, companies: 0, jobs: 0, requests: 0, faults: 0 })
    t.same(await counts(app, OTHER), full, 'the other key keeps everything')
    expectErrors(t, await control(app, 'GET', '/users/u1'), 404, notFound('user', 'u1'))
    t.equal((await control(app, 'GET', '/users/u1', { key: OTHER })).statusCode, 200)
    t.same(expectOk<JournalEntry[]>(t, await control(app, 'GET', '/requests?all=1', { key: null }), Type.Array(JournalEntry)).map((entry) => entry.key_id), [OTHER_ENV, OTHER_ENV])
  })

  t.test('?all=1 forgets every key', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    await seed(t, app, clock)
    t.same(expectOk(t, await control(app, 'POST', '/reset?all=1', { key: null }), ResetResult), { reset: 'all' })
    for (const key of [KEY, OTHER]) t.same(await counts(app, key), { users: 0, companies: 0, jobs: 0, requests: 0, faults: 0 })
    t.same(expectOk(t, await control(app, 'GET', '/faults?all=1', { key: null }), Type.Array(Fault)), [])
  })

  t.test('a key with ?all=1 forgets every key too', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    await seed(t, app, clock)
    t.same(expectOk(t, await control(app, 'POST', '/reset?all=1'), ResetResult), { reset: 'all' })
    t.same(await counts(app, OTHER), { users: 0, companies: 0, jobs: 0, requests: 0, faults: 0 })
  })

  t.test('running jobs are forgotten with their timers; the key can submit again at once', async (t) => {
    const { app, clock } = await testApp(t)
    await acceptUsers(t, app, [{ user_id: 'mine' }])
    await acceptUsers(t, app, [{ user_id: 'theirs' }], { key: OTHER })
    t.equal(clock.pending, 2, 'precondition: one timer per job')
    expectOk(t, await control(app, 'POST', '/reset'), ResetResult)
    t.equal(clock.pending, 1, 'only the other key\'s timer is left')
    await clock.runAll()
    t.same(expectOk(t, await control(app, 'GET', '/users'), UserList), [], 'the forgotten job applied nothing')
    t.same(expectOk<MockUser[]>(t, await control(app, 'GET', '/users', { key: OTHER }), UserList).map((entry) => entry.user_id), ['theirs'])

    await acceptUsers(t, app, [{ user_id: 'again' }], { at: clock.now() - CLOCK_START })
    await acceptUsers(t, app, [{ user_id: 'theirs-again' }], { key: OTHER, at: clock.now() - CLOCK_START })
    t.equal(clock.pending, 2)
    expectOk(t, await control(app, 'POST', '/reset?all=1', { key: null }), ResetResult)
    t.equal(clock.pending, 0, '?all=1 clears every timer')
    await clock.runAll()
    t.same(expectOk(t, await control(app, 'GET', '/users?all=1', { key: null }), UserList), [])
  })
})
