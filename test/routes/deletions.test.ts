import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { FlushResult, MockCompany, MockDeletion, MockEvent, MockUser } from '../../schemas/control.js'
import { DeleteAccepted } from '../../schemas/realtime.js'
import { tenantOf } from '../../src/tenant.js'
import { auth, KEY, testApp } from '../helpers/app.js'
import { control, expectErrors, expectOk, invalid, logSink } from '../helpers/http.js'

const ENV = tenantOf(KEY).envId
const CLIENT = { 'content-type': 'application/json', 'x-api-version': '2020-09-22' }
/** testApp's manual clock starts 2025-05-19T07:29:12Z: the next run is the 20th at 02:00 UTC. */
const NEXT_RUN = '2025-05-20T02:00:00.000Z'
const UNTIL_NEXT_RUN = Date.parse(NEXT_RUN) - Date.parse('2025-05-19T07:29:12.000Z')

function send (app: FastifyInstance, method: 'POST' | 'DELETE', url: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: { ...auth(), ...CLIENT }, payload: JSON.stringify(body) })
}

async function seed (app: FastifyInstance): Promise<void> {
  await send(app, 'POST', '/v1/identify', { user_id: 'u1', company: { id: 'c1' } })
  await send(app, 'POST', '/v1/identify', { user_id: 'u2', company: { id: 'c1' } })
  await send(app, 'POST', '/v1/identify', { user_id: 'u3', company: { id: 'c2' } })
}

function accepted (t: Test, res: LightMyRequestResponse, message: string): void {
  t.equal(res.statusCode, 202, 'status 202')
  t.strictSame(expectOk(t, res, DeleteAccepted, 202), { message })
}

async function userIds (t: Test, app: FastifyInstance): Promise<Array<[string, string | null, string | null]>> {
  return expectOk<MockUser[]>(t, await control(app, 'GET', '/users'), Type.Array(MockUser)).map((user) => [user.user_id, user.company_id, user.deletion_scheduled_at])
}

async function companyIds (t: Test, app: FastifyInstance): Promise<Array<[string, number, string | null]>> {
  return expectOk<MockCompany[]>(t, await control(app, 'GET', '/companies'), Type.Array(MockCompany)).map((company) => [company.company_id, company.user_count, company.deletion_scheduled_at])
}

t.test('DELETE /v1/users: scheduled for the next 02:00 UTC of the mock\'s clock, carried out then', async (t) => {
  const { app, clock } = await testApp(t)
  await seed(app)
  accepted(t, await send(app, 'DELETE', '/v1/users', { users: ['u1', 'u1', 'nobody'] }), `2 users scheduled for deletion at ${NEXT_RUN} (deletions run daily at 02:00 UTC).`)
  t.strictSame(await userIds(t, app), [['u1', 'c1', NEXT_RUN], ['u2', 'c1', null], ['u3', 'c2', null]], 'marked, still there')
  t.strictSame(expectOk(t, await control(app, 'GET', '/deletions'), Type.Array(MockDeletion)), [{ key_id: ENV, type: 'users', id: 'u1', deletion_scheduled_at: NEXT_RUN }])
  await clock.advance(UNTIL_NEXT_RUN - 1)
  t.equal((await userIds(t, app)).length, 3, 'one millisecond before 02:00 UTC: still there')
  await clock.advance(1)
  t.strictSame(await userIds(t, app), [['u2', 'c1', null], ['u3', 'c2', null]], 'at 02:00 UTC: gone')
  t.strictSame(await companyIds(t, app), [['c1', 1, null], ['c2', 1, null]], 'and no longer counted in its company')
  t.strictSame(expectOk(t, await control(app, 'GET', '/deletions'), Type.Array(MockDeletion)), [])
  t.equal(expectOk<MockEvent[]>(t, await control(app, 'GET', '/events?user_id=u1'), Type.Array(MockEvent)).length, 1, 'events stay')
  t.equal(clock.pending, 0, 'nothing left to run: no timer kept')
})

t.test('a deletion requested after 02:00 UTC waits for the next day', async (t) => {
  const { app } = await testApp(t, {}, { clockStart: Date.parse('2025-05-20T02:00:00.000Z') })
  await seed(app)
  accepted(t, await send(app, 'DELETE', '/v1/users', { users: ['u1'] }), '1 user scheduled for deletion at 2025-05-21T02:00:00.000Z (deletions run daily at 02:00 UTC).')
})

t.test('DELETE /v1/companies: a deleted company leaves its users without a company', async (t) => {
  const { app } = await testApp(t)
  await seed(app)
  accepted(t, await send(app, 'DELETE', '/v1/companies', { companies: ['c1'] }), `1 company scheduled for deletion at ${NEXT_RUN} (deletions run daily at 02:00 UTC).`)
  t.strictSame(await companyIds(t, app), [['c1', 2, NEXT_RUN], ['c2', 1, null]])
  t.strictSame(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 0, deleted: { users: 0, companies: 1 } }, 'flush carries it out now')
  t.strictSame(await companyIds(t, app), [['c2', 1, null]])
  t.strictSame(await userIds(t, app), [['u1', null, null], ['u2', null, null], ['u3', 'c2', null]])
})

t.test('MOCK_DELETIONS=immediate: deleted before the 202', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_DELETIONS: 'immediate' })
  await seed(app)
  accepted(t, await send(app, 'DELETE', '/v1/users', { users: ['u2', 'ghost'] }), '2 users deleted (MOCK_DELETIONS=immediate).')
  accepted(t, await send(app, 'DELETE', '/v1/companies', { companies: ['c2'] }), '1 company deleted (MOCK_DELETIONS=immediate).')
  t.strictSame(await userIds(t, app), [['u1', 'c1', null], ['u3', null, null]])
  t.strictSame(await companyIds(t, app), [['c1', 1, null]])
  t.equal(clock.pending, 0, 'no timer')
})

t.test('MOCK_CLOCK=manual: no timer; only flush carries deletions out', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
  await seed(app)
  await send(app, 'DELETE', '/v1/users', { users: ['u1'] })
  t.equal(clock.pending, 0)
  await clock.advance(2 * UNTIL_NEXT_RUN)
  t.equal((await userIds(t, app)).length, 3, 'still there after 02:00 UTC')
  t.strictSame(expectOk(t, await control(app, 'POST', '/clock/flush?all=1', { key: null }), FlushResult), { finished: 0, deleted: { users: 1, companies: 0 } })
  t.equal((await userIds(t, app)).length, 2)
})

t.test('reset forgets pending deletions', async (t) => {
  const { app, clock } = await testApp(t)
  await seed(app)
  await send(app, 'DELETE', '/v1/users', { users: ['u1'] })
  await control(app, 'POST', '/reset')
  await seed(app)
  await clock.advance(UNTIL_NEXT_RUN)
  t.equal((await userIds(t, app)).length, 3, 'the new u1 is not deleted')
})

t.test('validation: ids are strings, 1 to MOCK_MAX_RECORDS; the journal notes a missing X-API-Version', async (t) => {
  const { app } = await testApp(t, { MOCK_MAX_RECORDS: 3 })
  const cases: Array<[string, unknown, number, ReturnType<typeof invalid>[]]> = [
    ['/v1/users', {}, 400, [invalid('missing_users', 'The body needs a "users" array with at least one user.', '/users')]],
    ['/v1/users', { users: [] }, 400, [invalid('empty_users', '"users" is empty: send at least one user.', '/users')]],
    ['/v1/users', { users: 'u1' }, 400, [invalid('invalid_users', '"users" must be an array of user ids (strings).', '/users')]],
    ['/v1/users', { users: ['u1', 2, ''] }, 400, [
      invalid('invalid_user_id', 'users[1] must be a string: the id of a user to delete.', '/users/1'),
      invalid('empty_user_id', 'users[2] is empty: each user id must be a non-empty string.', '/users/2')]],
    ['/v1/companies', [], 400, [invalid('invalid_body', 'The body must be a JSON object such as {"companies": ["..."]}.', 'body')]],
    ['/v1/companies', { companies: [{ company_id: 'c1' }] }, 400, [invalid('invalid_company_id', 'companies[0] must be a string: the id of a company to delete.', '/companies/0')]]
  ]
  for (const [url, body, status, errors] of cases) expectErrors(t, await send(app, 'DELETE', url, body), status, errors)
  expectErrors(t, await send(app, 'DELETE', '/v1/users', { users: ['a', 'b', 'c', 'd'] }), 413, [{
    error: 'payload_too_large', error_code: 'too_many_records', message: 'A delete request carries at most 3 user ids; this one has 4. Split them into several requests (one every 2 seconds).', details: '/users holds 4 items'
  }])
  const noVersion = await app.inject({ method: 'DELETE', url: '/v1/users', headers: { ...auth(), 'content-type': 'application/json' }, payload: { users: ['u1'] } })
  t.equal(noVersion.statusCode, 202, 'accepted without X-API-Version…')
  const [entry] = expectOk<Array<{ warnings: Array<{ code: string }> }>>(t, await control(app, 'GET', '/requests?limit=1'), Type.Array(Type.Any()))
  t.strictSame(entry?.warnings.map((warning) => warning.code), ['missing_api_version'], '…with a warning')
})

t.test('a failed run at 02:00 UTC is logged, and the next flush carries the deletion out', async (t) => {
  const sink = logSink()
  const { app, clock } = await testApp(t, {}, { logger: { level: 'error', stream: sink.stream } })
  await seed(app)
  await send(app, 'DELETE', '/v1/users', { users: ['u1'] })
  const { profiles } = app.mock.store
  const runDeletions = profiles.runDeletions.bind(profiles)
  profiles.runDeletions = async () => { throw new Error('store away') }
  await clock.advance(UNTIL_NEXT_RUN)
  t.match(sink.lines, [{ level: 50, msg: 'scheduled deletions failed; they run again at the next 02:00 UTC or flush', err: { message: 'store away' } }])
  profiles.runDeletions = runDeletions
  t.strictSame(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 0, deleted: { users: 1, companies: 0 } })
})
