import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { JournalEntry, type Warning } from '../../schemas/control.js'
import { apiVersionWarning, inspectBody, Warnings } from '../../src/http/fidelity.js'
import { UserRowSchema } from '../../schemas/bulk.js'
import { auth, bulkUsers, testApp } from '../helpers/app.js'
import { control, expectErrors, expectOk, invalid, logSink, uploadNdjson } from '../helpers/http.js'

const UNKNOWN_EMAIL: Warning = {
  code: 'unknown_field',
  message: '"email" is not a field Userpilot documents in /users/0 (user_id, company_id, metadata); the real service may refuse or drop it. Custom properties belong in metadata.',
  path: '/users/0/email'
}
const MISSING_VERSION: Warning = { code: 'missing_api_version', message: 'The X-API-Version header is missing: Userpilot\'s docs require "X-API-Version: 2020-09-22" on this call.' }

async function journal (t: Test, app: FastifyInstance, query = ''): Promise<JournalEntry[]> {
  return expectOk<JournalEntry[]>(t, await control(app, 'GET', `/requests${query}`), Type.Array(JournalEntry))
}

function identify (app: FastifyInstance, body: unknown, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/v1/identify', headers: { ...auth(), 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })
}

t.test('X-API-Version: missing or unexpected on a route whose docs require it', async (t) => {
  t.equal(apiVersionWarning('2020-09-22'), undefined)
  t.equal(apiVersionWarning(' 2020-09-22 '), undefined, 'spaces around are fine')
  t.strictSame(apiVersionWarning(undefined), MISSING_VERSION)
  t.strictSame(apiVersionWarning('2021-01-01'), { code: 'unknown_api_version', message: 'X-API-Version is "2021-01-01"; the version Userpilot documents is 2020-09-22.' })
  const { app } = await testApp(t)
  t.equal((await identify(app, { user_id: 'u' }, { 'x-api-version': 'v2' })).statusCode, 202)
  t.equal((await identify(app, { user_id: 'u' }, {})).statusCode, 202)
  t.strictSame((await journal(t, app)).map((entry) => entry.warnings.map((warning) => warning.code)), [['missing_api_version'], ['unknown_api_version']])
  t.equal((await bulkUsers(app, { users: [{ user_id: 'u' }] })).statusCode, 202)
  t.strictSame((await journal(t, app))[0]?.warnings, [], 'bulk calls need no X-API-Version')
})

t.test('unknown fields: in a bulk row, at the top of a body; once per name per request', async (t) => {
  const { app } = await testApp(t)
  t.equal((await bulkUsers(app, { users: [{ user_id: 'a', email: 'a@x' }, { user_id: 'b', email: 'b@x', name: 'B' }], extra: 1 })).statusCode, 202)
  t.strictSame((await journal(t, app))[0]?.warnings, [
    UNKNOWN_EMAIL,
    { code: 'unknown_field', message: '"name" is not a field Userpilot documents in /users/1 (user_id, company_id, metadata); the real service may refuse or drop it. Custom properties belong in metadata.', path: '/users/1/name' },
    { code: 'unknown_field', message: '"extra" is not a field Userpilot documents in the body (users); the real service may refuse or drop it. Custom properties belong in metadata.', path: '/extra' }
  ])
  await control(app, 'POST', '/clock/flush')
  const users = await app.inject({ method: 'GET', url: '/__mock/users', headers: auth() })
  t.strictSame(users.json<Array<{ metadata: object }>>().map((user) => user.metadata), [{}, {}], 'unknown fields are not stored')
})

t.test('an NDJSON upload: unknown fields with their line', async (t) => {
  const { app } = await testApp(t)
  t.equal((await uploadNdjson(app, 'users', '{"user_id":"a"}\n\n{"user_id":"b","email":"b@x"}\n')).statusCode, 202)
  t.strictSame((await journal(t, app))[0]?.warnings, [{
    code: 'unknown_field',
    message: '"email" is not a field Userpilot documents on line 3 (user_id, company_id, metadata); the real service may refuse or drop it. Custom properties belong in metadata.',
    path: 'line 3: /email'
  }])
})

t.test('?warnings=true lists only requests that strayed; the log line names the codes', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, {}, { logger: { level: 'info', stream: sink.stream } })
  await bulkUsers(app, { users: [{ user_id: 'a' }] })
  await bulkUsers(app, { users: [{ user_id: 'b', email: 'b@x' }] })
  await identify(app, { user_id: 'c' }, { 'x-api-version': '2020-09-22' })
  t.strictSame((await journal(t, app, '?warnings=true')).map((entry) => entry.warnings), [[UNKNOWN_EMAIL]])
  t.strictSame((await journal(t, app, '?warnings=1')).length, 1)
  t.strictSame((await journal(t, app, '?warnings=false')).length, 3)
  const lines = sink.lines.filter((line) => String(line.url).startsWith('/v1/'))
  t.strictSame(lines.map((line) => [line.msg, line.warnings]), [['request', undefined], ['request strays from the docs', ['unknown_field']], ['request', undefined]])
})

t.test('MOCK_STRICT=true: every warning is a 400 with its code, and nothing is stored', async (t) => {
  const { app } = await testApp(t, { MOCK_STRICT: 'true' })
  const strict = (warning: Warning, details: string): ReturnType<typeof invalid> => invalid(warning.code, `${warning.message} (MOCK_STRICT=true refuses this.)`, details)
  expectErrors(t, await identify(app, { user_id: 'u', metadata: { deep: {} } }, {}), 400, [
    strict(MISSING_VERSION, 'header x-api-version'),
    strict({ code: 'nested_metadata', message: '/metadata/deep is an object: Userpilot documents only strings, numbers, booleans and null as property values. The mock keeps it as sent.' }, '/metadata/deep')
  ])
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'a', email: 'a@x' }] }), 400, [strict(UNKNOWN_EMAIL, '/users/0/email')])
  const upload = await uploadNdjson(app, 'users', '{"user_id":"a","email":"a@x"}\n')
  t.equal(upload.statusCode, 400)
  t.equal(upload.json<{ errors: Array<{ error_code: string, details: string }> }>().errors[0]?.details, 'line 1: /email')
  const track = await app.inject({ method: 'POST', url: '/v1/track', headers: { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22' }, payload: { user_id: 'ghost', event_name: 'e' } })
  t.equal(track.statusCode, 400)
  t.equal(track.json<{ errors: Array<{ error_code: string, details: string }> }>().errors[0]?.error_code, 'unknown_user')
  t.strictSame((await journal(t, app)).map((entry) => [entry.status, entry.warnings.map((warning) => warning.code)]), [
    [400, ['unknown_user']], [400, ['unknown_field']], [400, ['unknown_field']], [400, ['missing_api_version', 'nested_metadata']]
  ], 'the refusals are journaled with their warnings')
  t.strictSame((await app.inject({ method: 'GET', url: '/__mock/users', headers: auth() })).json(), [])
  t.strictSame((await app.inject({ method: 'GET', url: '/__mock/jobs', headers: auth() })).json(), [])
  t.strictSame((await app.inject({ method: 'GET', url: '/__mock/events', headers: auth() })).json(), [])
  t.equal((await identify(app, { user_id: 'u' }, { 'x-api-version': '2020-09-22' })).statusCode, 202, 'a clean call passes')
})

t.test('strict: at most 100 entries, like every error answer', async (t) => {
  const { app } = await testApp(t, { MOCK_STRICT: 'true' })
  const row = Object.fromEntries([['user_id', 'a'], ...Array.from({ length: 150 }, (_, i) => [`f${i}`, 1])])
  const res = await bulkUsers(app, { users: [row] })
  t.equal(res.json<{ errors: unknown[] }>().errors.length, 100)
})

t.test('inspectBody: keys like __proto__ are plain fields; a scalar where an object is documented is left to validation', async (t) => {
  const warnings = new Warnings()
  inspectBody(UserRowSchema('primitives'), JSON.parse('{"user_id":"a","__proto__":{"x":1},"constructor":2}'), warnings)
  t.strictSame(warnings.list.map((warning) => warning.path), ['/__proto__', '/constructor'])
  const none = new Warnings()
  inspectBody(UserRowSchema('primitives'), 'scalar', none)
  inspectBody(UserRowSchema('primitives'), [1, 2], none)
  t.strictSame(none.list, [])
})
