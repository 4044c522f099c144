import t from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { Health } from '../../schemas/health.js'
import { BackgroundJob, BackgroundJobList, JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, assertSchema, auth, bulkUsers, getJob, testApp } from '../helpers/app.js'
import { CACHE_CONTROL, GENERATED_ID, JSON_UTF8, assertStandardHeaders, expectAccepted, expectErrors, invalid, listJobs, logSink } from '../helpers/http.js'

const SECRET_KEY = 'sk-live-0123456789-very-secret'
const WARNING = 'MOCK_API_KEYS is empty: any non-empty API key is accepted'

/** The schema each kind of answer has. */
function schemaFor (res: LightMyRequestResponse, okSchema: TSchema = Health): TSchema {
  if (res.statusCode >= 400) return ErrorEnvelope
  if (res.statusCode === 202) return JobAccepted
  return okSchema
}

t.test('every answer carries content-type, cache-control and a generated x-request-id', async (t) => {
  const { app } = await testApp(t, { MOCK_BODY_LIMIT: 1024 })
  app.get('/boom', async () => { throw new Error('secret detail') })
  const answers: Array<[number, Promise<LightMyRequestResponse>, TSchema?]> = [
    [202, bulkUsers(app, { users: [{ user_id: 'u1' }] })],
    [200, listJobs(app), BackgroundJobList],
    [200, app.inject({ method: 'GET', url: '/__mock/health' }), Health],
    [400, bulkUsers(app, { users: [] })],
    [400, bulkUsers(app, '{oops')],
    [401, bulkUsers(app, { users: [{ user_id: 'u1' }] }, {})],
    [404, getJob(app, 'nope')],
    [404, app.inject({ method: 'GET', url: '/nope' })],
    [413, bulkUsers(app, `{"users":[${' '.repeat(2000)}]}`)],
    [415, bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), 'content-type': 'text/plain' })],
    [500, app.inject({ method: 'GET', url: '/boom' })]
  ]
  const ids = new Set<string>()
  for (const [status, pending, okSchema] of answers) {
    const res = await pending
    t.equal(res.statusCode, status, `status ${status}`)
    t.equal(res.headers['content-type'], JSON_UTF8, `${status}: content-type`)
    t.equal(res.headers['cache-control'], CACHE_CONTROL, `${status}: cache-control`)
    t.match(res.headers['x-request-id'], GENERATED_ID, `${status}: a 20-character generated id`)
    ids.add(res.headers['x-request-id'] as string)
    assertSchema(t, schemaFor(res, okSchema), res.json(), `${status}: the body matches its schema`)
  }
  t.equal(ids.size, answers.length, 'each request has its own id')
})

t.test('x-request-id: a well-formed incoming id is echoed, anything else replaced', async (t) => {
  const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
  const echoed = ['req-123', 'a', 'Req_1.2:3-x', 'bulk:jobs:NX-1a2b3c4d:abc', 'x'.repeat(128)]
  for (const id of echoed) {
    const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), 'x-request-id': id })
    expectAccepted(t, res, { totalRows: 1, fileSize: 28, requestId: id })
  }
  const replaced = ['has space', 'x'.repeat(129), 'semi;colon', 'slash/id', 'quote"d', 'plus+sign', 'tab\tid', '']
  for (const id of replaced) {
    const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), 'x-request-id': id })
    expectAccepted(t, res, { totalRows: 1, fileSize: 28 })
    t.not(res.headers['x-request-id'], id, `not echoed: ${JSON.stringify(id.slice(0, 20))}`)
    t.match(res.headers['x-request-id'], GENERATED_ID, 'a generated id instead')
  }
})

t.test('generated request ids are unique across many requests (ids come from a refilled random pool)', async (t) => {
  const { app } = await testApp(t)
  const ids: string[] = []
  for (let i = 0; i < 600; i++) ids.push((await app.inject({ method: 'GET', url: '/__mock/health' })).headers['x-request-id'] as string)
  t.same(ids.filter((id) => !GENERATED_ID.test(id)), [], 'every one shaped like Userpilot\'s')
  t.equal(new Set(ids).size, 600)
})

t.test('x-request-id is echoed on error answers too', async (t) => {
  const { app } = await testApp(t)
  const unauthorized = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { 'x-request-id': 'trace-401' })
  t.equal(unauthorized.statusCode, 401)
  assertStandardHeaders(t, unauthorized, 'trace-401')
  assertSchema(t, ErrorEnvelope, unauthorized.json())
  const notFound = await app.inject({ method: 'GET', url: '/nope', headers: { 'x-request-id': 'trace-404' } })
  t.equal(notFound.statusCode, 404)
  assertStandardHeaders(t, notFound, 'trace-404')
  assertSchema(t, ErrorEnvelope, notFound.json())
  const bad = await bulkUsers(app, '{}', { ...auth(), 'x-request-id': 'trace-400' })
  t.equal(bad.statusCode, 400)
  assertStandardHeaders(t, bad, 'trace-400')
  assertSchema(t, ErrorEnvelope, bad.json())
  t.same(bad.json(), { errors: [invalid('missing_users', 'The body needs a "users" array with at least one user.', '/users')] })
})

t.test('logging: one line per request, with the key id and never the key', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, {}, { logger: { level: 'info', stream: sink.stream } })
  app.get('/boom', async () => { throw new Error('secret detail') })
  const envId = tenantOf(SECRET_KEY).envId

  const requests: Array<{ res: LightMyRequestResponse, method: string, url: string, keyId: string | null }> = []
  const record = async (pending: Promise<LightMyRequestResponse>, method: string, url: string, keyId: string | null, okSchema?: TSchema) => {
    const res = await pending
    assertSchema(t, schemaFor(res, okSchema), res.json(), `${method} ${url}: the body matches its schema`)
    requests.push({ res, method, url, keyId })
    return res
  }
  const accepted = await record(bulkUsers(app, { users: [{ user_id: 'u1' }] }, auth(SECRET_KEY)), 'POST', '/v1/users/bulk_identify', envId)
  const jobId = accepted.json<JobAccepted>().job_id
  await record(getJob(app, jobId, auth(SECRET_KEY)), 'GET', `/v1/background_jobs/${jobId}`, envId, BackgroundJob)
  await record(listJobs(app, '?limit=5', auth(SECRET_KEY)), 'GET', '/v1/background_jobs?limit=5', envId, BackgroundJobList)
  await record(bulkUsers(app, '{"users":[]}', auth(SECRET_KEY)), 'POST', '/v1/users/bulk_identify', envId)
  await record(bulkUsers(app, { users: [{ user_id: 'u1' }] }, { authorization: `Bearer ${SECRET_KEY}` }), 'POST', '/v1/users/bulk_identify', null)
  await record(app.inject({ method: 'GET', url: '/__mock/health', headers: { ...auth(SECRET_KEY), 'x-request-id': 'health-1' } }), 'GET', '/__mock/health', null)
  await record(app.inject({ method: 'GET', url: '/nope', headers: auth(SECRET_KEY) }), 'GET', '/nope', null)
  await record(app.inject({ method: 'GET', url: '/boom', headers: auth(SECRET_KEY) }), 'GET', '/boom', null)

  t.match(sink.lines[0], { level: 40, msg: WARNING }, 'the start-up warning first')
  const requestLines = sink.lines.filter((line) => line.msg === 'request')
  t.equal(requestLines.length, requests.length, 'exactly one line per request')
  requests.forEach(({ res, method, url, keyId }, i) => {
    const line = requestLines[i] as Record<string, unknown>
    t.match(line, { level: 30, msg: 'request', reqId: res.headers['x-request-id'], keyId, statusCode: res.statusCode, method, url }, `${method} ${url}`)
    t.same(Object.keys(line).filter((k) => !['time', 'pid', 'hostname'].includes(k)).sort(),
      ['keyId', 'level', 'method', 'msg', 'reqId', 'responseTime', 'statusCode', 'url'], 'these fields and no others')
    t.type(line.responseTime, 'number')
    t.ok((line.responseTime as number) >= 0, 'responseTime is not negative')
  })
  t.equal(requestLines[5]?.reqId, 'health-1', 'an echoed id is the log reqId too')

  const failure = sink.lines.find((line) => line.msg === 'unexpected error')
  t.match(failure, { level: 50, reqId: requests[7]?.res.headers['x-request-id'], err: { message: 'secret detail' } }, 'the 500 has its details in the log, under its id')
  t.equal(sink.lines.length, requests.length + 2, 'the warning, the request lines and the 500 details: nothing else')
  t.notOk(sink.raw.join('\n').includes(SECRET_KEY), 'the API key never appears in the log')
  t.notOk(sink.raw.join('\n').includes(tenantOf(SECRET_KEY).id), 'nor its full digest')
})

t.test('logging with MOCK_API_KEYS set: no warning, a wrong key never logged', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, { MOCK_API_KEYS: `${KEY},${SECRET_KEY}` }, { logger: { level: 'info', stream: sink.stream } })
  const wrongKey = 'sk-live-wrong-9876543210'
  const refused = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, auth(wrongKey))
  expectErrors(t, refused, 401, [{
    error: 'unauthorized',
    error_code: 'invalid_api_key',
    message: 'The API key is not one this mock accepts (MOCK_API_KEYS). Expected the header "Authorization: Token <API_KEY>".',
    details: 'header authorization'
  }])
  const accepted = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, auth(SECRET_KEY))
  expectAccepted(t, accepted, { totalRows: 1, fileSize: 28, key: SECRET_KEY })

  t.equal(sink.lines.filter((line) => line.level === 40).length, 0, 'no warning')
  t.same(sink.lines.map((line) => [line.msg, line.reqId, line.keyId, line.statusCode]), [
    ['request', refused.headers['x-request-id'], null, 401],
    ['request', accepted.headers['x-request-id'], tenantOf(SECRET_KEY).envId, 202]
  ])
  const all = sink.raw.join('\n')
  t.notOk(all.includes(wrongKey), 'the wrong key is not logged')
  t.notOk(all.includes(SECRET_KEY), 'the right key is not logged')
  t.notOk(all.includes(KEY), 'no configured key is logged')
})

t.test('a request log line is written for unauthenticated 404s with keyId null', async (t) => {
  const sink = logSink()
  const { app } = await testApp(t, {}, { logger: { level: 'info', stream: sink.stream } })
  const res = await app.inject({ method: 'POST', url: '/v1/unknown?x=1' })
  t.equal(res.statusCode, 404)
  assertSchema(t, ErrorEnvelope, res.json())
  t.match(sink.lines.at(-1), { msg: 'request', keyId: null, method: 'POST', url: '/v1/unknown?x=1', statusCode: 404, reqId: res.headers['x-request-id'] })
})
