import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
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
