import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import { bucketCount, bucketOf, checkProfileCaps } from '../../src/http/profile-caps.js'
import type { ProfileStore } from '../../src/store/store.js'
import { auth, bulkUsers, testApp } from '../helpers/app.js'
import { bulkCompanies, control, expectErrors, invalid, uploadNdjson } from '../helpers/http.js'

// A profile holds at most MAX_METADATA_KEYS properties, however many requests fill it.

const CLIENT = { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22' }

/** `count` properties named `<prefix>0`…, each `value`. */
function props (count: number, prefix = 'k', value: string | null = 'v'): Record<string, string | null> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, value]))
}

function post (app: FastifyInstance, url: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url, headers: CLIENT, payload: JSON.stringify(body) })
}

function tooMany (noun: string, id: string, holds: number, details: string): ReturnType<typeof invalid> {
  return invalid('too_many_metadata_keys', `${noun} "${id}" would hold more than ${MAX_METADATA_KEYS} properties (it holds ${holds}). Remove properties it no longer needs (send them as null) before adding new ones.`, details)
}

async function keyCount (app: FastifyInstance, path: string): Promise<number> {
  return Object.keys((await control(app, 'GET', path)).json<{ metadata: object }>().metadata).length
}

t.test('real-time identify: a request that would pass the cap is refused, naming the profile', async (t) => {
  const { app } = await testApp(t)
  t.equal((await post(app, '/v1/identify', { user_id: 'u1', metadata: props(900) })).statusCode, 202)
  t.equal((await post(app, '/v1/identify', { user_id: 'u1', metadata: props(100, 'n') })).statusCode, 202, 'exactly the cap')
  expectErrors(t, await post(app, '/v1/identify', { user_id: 'u1', metadata: { one: 'more' } }), 400, [tooMany('User', 'u1', 1000, '/metadata')])
  t.equal((await post(app, '/v1/identify', { user_id: 'u1', metadata: { k0: 'updated', k1: null, one: 'more' } })).statusCode, 202, 'updates and removals make room')
  t.equal(await keyCount(app, '/users/u1'), 1000)
  t.equal((await post(app, '/v1/companies/identify', { company_id: 'c1', metadata: props(1000) })).statusCode, 202)
  expectErrors(t, await post(app, '/v1/companies/identify', { company_id: 'c1', metadata: { x: 1 } }), 400, [tooMany('Company', 'c1', 1000, '/metadata')])
  expectErrors(t, await post(app, '/v1/identify', { user_id: 'u2', company: { id: 'c1', x: 1 } }), 400, [tooMany('Company', 'c1', 1000, '/company')])
  t.equal((await post(app, '/v1/identify', { user_id: 'u2', company: { id: 'c1', k5: 'same key' } })).statusCode, 202, 'a known key is an update')
})

t.test('bulk: rows of one profile are merged in order against what it holds; JSON and NDJSON name the row', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'a', metadata: props(600) }, { user_id: 'b' }, { user_id: 'a', metadata: props(600, 'x') }] }), 400, [
    tooMany('User', 'a', 0, '/users/2/metadata')])
  t.equal((await bulkUsers(app, { users: [{ user_id: 'a', metadata: props(600) }, { user_id: 'a', metadata: { ...props(400, 'k', null), ...props(500, 'x') } }] })).statusCode, 202, 'removed first, then added: within the cap')
  await control(app, 'POST', '/clock/flush')
  t.equal(await keyCount(app, '/users/a'), 700)
  const upload = await uploadNdjson(app, 'users', `${JSON.stringify({ user_id: 'a', metadata: props(500, 'y') })}\n\n${JSON.stringify({ user_id: 'c' })}\n`)
  expectErrors(t, upload, 400, [tooMany('User', 'a', 700, 'line 1: /metadata')])
  expectErrors(t, await bulkCompanies(app, { companies: [{ company_id: 'c', metadata: props(700) }, { company_id: 'c', metadata: props(700, 'z') }] }), 400, [
    tooMany('Company', 'c', 0, '/companies/1/metadata')])
  t.equal((await control(app, 'GET', '/jobs')).json<unknown[]>().length, 1, 'no job for a refused request')
})

t.test('rows accepted earlier meet a profile filled meanwhile: keys beyond the cap are not added', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  t.equal((await bulkUsers(app, { users: [{ user_id: 'u1', metadata: props(600, 'job') }] })).statusCode, 202, 'fits when accepted')
  t.equal((await post(app, '/v1/identify', { user_id: 'u1', metadata: props(600, 'now') })).statusCode, 202, 'fits before the job runs')
  await control(app, 'POST', '/clock/flush')
  t.equal(await keyCount(app, '/users/u1'), 1000, 'the job added only what fit')
})

/** A store whose every profile holds `largest` properties, and that counts the size lookups it is asked for. */
function sizedStore (largest: number): { store: ProfileStore, lookups: string[][] } {
  const lookups: string[][] = []
  const store = {
    largestMetadata: async () => largest,
    metadataSizes: async (_tenant: string, _kind: string, ids: string[]) => { lookups.push(ids); return ids.map(() => largest) },
    getUser: async () => ({ metadata: props(largest, 'held') }),
    getCompany: async () => ({ metadata: props(largest, 'held') })
  } as unknown as ProfileStore
  return { store, lookups }
}

t.test('checkProfileCaps: a request of many small profiles needs no count per profile and no size lookup', async (t) => {
  const { store, lookups } = sizedStore(7)
  const rows = Array.from({ length: 10_000 }, (_, i) => ({ user_id: `user_${i}`, metadata: props(7) }))
  await checkProfileCaps(store, 't', 'users', rows, String)
  t.same(lookups, [], 'no sizes read')
  await checkProfileCaps(store, 't', 'users', [{ user_id: 'x' }, { user_id: 'y', metadata: {} }], String)
  t.same(lookups, [], 'rows that add nothing read nothing')
})

t.test('bucketCount: about one bucket a row, a power of two, 4,096 at most', async (t) => {
  t.same([0, 1, 2, 3, 500, 4096, 10_000].map(bucketCount), [1, 1, 2, 4, 512, 4096, 4096])
  t.ok(bucketOf('any id', 512) < 512)
})

t.test('checkProfileCaps: profiles whose ids share a bucket are counted apart before anything is refused', async (t) => {
  const first = 'user_0'
  let second = 1
  while (bucketOf(`user_${second}`, bucketCount(2)) !== bucketOf(first, bucketCount(2))) second++
  const other = `user_${second}`
  const { store, lookups } = sizedStore(0)
  await checkProfileCaps(store, 't', 'users', [{ user_id: first, metadata: props(600) }, { user_id: other, metadata: props(600, 'x') }], String)
  t.same(lookups, [[first, other]], 'the bucket\'s 1,200 keys sent the request to the exact count, which lets it through')
  const refusal = async (promise: Promise<void>): Promise<unknown> => await promise.then(() => 'accepted', (error: unknown) => error)
  t.match(await refusal(checkProfileCaps(store, 't', 'users', [{ user_id: first, metadata: props(600) }, { user_id: first, metadata: props(600, 'x') }], (i) => `/users/${i}/metadata`)),
    { statusCode: 400, entries: [{ error_code: 'too_many_metadata_keys', details: '/users/1/metadata' }] }, 'the same profile twice is refused')
  const { store: companies } = sizedStore(990)
  t.match(await refusal(checkProfileCaps(companies, 't', 'companies', [{ company_id: 'c', metadata: props(11) }], String)), { statusCode: 400 }, 'what it holds counts')
})
