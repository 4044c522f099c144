import t from 'tap'
import { Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { apiError, envelope } from '../../src/errors.js'
import { assertSchema, auth, testApp } from '../helpers/app.js'
import { assertStandardHeaders, expectErrors, invalid } from '../helpers/http.js'

const SERVES = '/documentation lists what the mock serves: Userpilot\'s API under /v1, the mock\'s control API under /__mock.'

function routeNotFound (method: string, path: string, url: string = path) {
  return [{
    error: 'not_found',
    error_code: 'route_not_found',
    message: `There is no ${method} ${JSON.stringify(path)} route. ${SERVES}`,
    details: `${method} ${JSON.stringify(url)}`
  }]
}

t.test('unknown routes: 404 route_not_found', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await app.inject({ method: 'GET', url: '/nope' }), 404, routeNotFound('GET', '/nope'))
  expectErrors(t, await app.inject({ method: 'POST', url: '/v1/unknown' }), 404, routeNotFound('POST', '/v1/unknown'))
  expectErrors(t, await app.inject({ method: 'POST', url: '/v1/unknown', headers: auth() }), 404, routeNotFound('POST', '/v1/unknown'))
  expectErrors(t, await app.inject({ method: 'PUT', url: '/v1/users/bulk_identify', headers: auth() }), 404, routeNotFound('PUT', '/v1/users/bulk_identify'))
  expectErrors(t, await app.inject({ method: 'DELETE', url: '/v1/background_jobs/x', headers: auth() }), 404, routeNotFound('DELETE', '/v1/background_jobs/x'))
  expectErrors(t, await app.inject({ method: 'GET', url: '/v1/users/bulk_identify', headers: auth() }), 404, routeNotFound('GET', '/v1/users/bulk_identify'))
  expectErrors(t, await app.inject({ method: 'GET', url: '/__mock/nope' }), 404, routeNotFound('GET', '/__mock/nope'))
})

t.test('route_not_found: the query string is in details only; long URLs are cut', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await app.inject({ method: 'GET', url: '/nope?x=1&y=2' }), 404, routeNotFound('GET', '/nope', '/nope?x=1&y=2'))
  const long = '/' + 'a'.repeat(150)
  const cut = `"${long.slice(0, 120)}…"`
  expectErrors(t, await app.inject({ method: 'GET', url: long }), 404, [{
    error: 'not_found',
    error_code: 'route_not_found',
    message: `There is no GET ${cut} route. ${SERVES}`,
    details: `GET ${cut}`
  }])
})

t.test('an unexpected throw: 500 internal_error, nothing of the error in the body', async (t) => {
  const { app } = await testApp(t)
  app.get('/boom', async () => { throw new Error('secret detail') })
  for (const [status, thrown] of [
    [500, new Error('secret detail')],
    [503, Object.assign(new Error('secret detail'), { statusCode: 503 })],
    [302, Object.assign(new Error('secret detail'), { statusCode: 302 })]
  ] as const) {
    app.get(`/boom-${status}`, async () => { throw thrown })
  }
  for (const url of ['/boom', '/boom-500', '/boom-503', '/boom-302']) {
    const res = await app.inject({ method: 'GET', url })
    expectErrors(t, res, 500, [{
      error: 'internal_error',
      error_code: 'internal_error',
      message: 'The mock failed on this request. Its log has the details under this request id.',
      details: `request id ${res.headers['x-request-id'] as string}`
    }])
    t.notMatch(res.body, /secret|detail"|stack|Error:|\.ts|node_modules/, `${url}: no message, no stack`)
  }
  const traced = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'trace-500' } })
  t.equal(traced.statusCode, 500)
  assertStandardHeaders(t, traced, 'trace-500')
  assertSchema(t, ErrorEnvelope, traced.json())
  t.equal(traced.json<{ errors: Array<{ details: string }> }>().errors[0]?.details, 'request id trace-500')
})

t.test('client errors without a special mapping keep their status, in the envelope', async (t) => {
  const { app } = await testApp(t)
  app.get('/teapot', async () => { throw Object.assign(new Error('nope'), { statusCode: 418, code: 'FST_ERR_SOMETHING' }) })
  app.get('/conflict', async () => { throw Object.assign(new Error('taken'), { statusCode: 409, code: 'E_CUSTOM_CONFLICT' }) })
  app.get('/limited', async () => { throw Object.assign(new Error('slow down'), { statusCode: 429 }) })
  app.get('/long-message', async () => { throw Object.assign(new Error('\u202e' + 'm'.repeat(300)), { statusCode: 400, code: 'FST_ERR_LONG' }) })
  expectErrors(t, await app.inject({ method: 'GET', url: '/teapot' }), 418, [
    { error: 'invalid_request', error_code: 'something', message: 'nope', details: '"/teapot"' }])
  expectErrors(t, await app.inject({ method: 'GET', url: '/conflict?by=u1' }), 409, [
    { error: 'conflict', error_code: 'e_custom_conflict', message: 'taken', details: '"/conflict?by=u1"' }])
  expectErrors(t, await app.inject({ method: 'GET', url: '/limited' }), 429, [
    { error: 'rate_limited', error_code: 'bad_request', message: 'slow down', details: '"/limited"' }])
  const longUrl = '/teapot?q=' + 'q'.repeat(300)
  expectErrors(t, await app.inject({ method: 'GET', url: longUrl }), 418, [
    { error: 'invalid_request', error_code: 'something', message: 'nope', details: `"${longUrl.slice(0, 100)}…"` }])
  expectErrors(t, await app.inject({ method: 'GET', url: '/long-message' }), 400, [
    { error: 'invalid_request', error_code: 'long', message: `\\u202e${'m'.repeat(199)}…`, details: '"/long-message"' }])
})

t.test('ApiErrors are sent as they are, with the label of their status', async (t) => {
  const { app } = await testApp(t)
  app.get('/api-418', async () => { throw apiError(418, 'teapot', 'I am a teapot.', 'brew') })
  app.get('/api-501', async () => { throw apiError(501, 'not_implemented', 'Not here yet.', 'feature x') })
  app.get('/api-503', async () => { throw apiError(503, 'unavailable', 'Later.', 'maintenance') })
  expectErrors(t, await app.inject({ method: 'GET', url: '/api-418' }), 418, [
    { error: 'invalid_request', error_code: 'teapot', message: 'I am a teapot.', details: 'brew' }])
  expectErrors(t, await app.inject({ method: 'GET', url: '/api-501' }), 501, [
    { error: 'internal_error', error_code: 'not_implemented', message: 'Not here yet.', details: 'feature x' }])
  expectErrors(t, await app.inject({ method: 'GET', url: '/api-503' }), 503, [
    { error: 'service_unavailable', error_code: 'unavailable', message: 'Later.', details: 'maintenance' }])
})

t.test('envelope() builds what the handler sends', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ method: 'GET', url: '/nope' })
  const built = envelope(404, 'route_not_found', `There is no GET "/nope" route. ${SERVES}`, 'GET "/nope"')
  assertSchema(t, ErrorEnvelope, built)
  expectErrors(t, res, 404, built.errors)
  t.same(envelope(418, 'x', 'm', 'd'), { errors: [{ error: 'invalid_request', error_code: 'x', message: 'm', details: 'd' }] })
  t.same(envelope(599, 'x', 'm', 'd'), { errors: [{ error: 'internal_error', error_code: 'x', message: 'm', details: 'd' }] })
})

t.test('Content-Length that does not match the body: 400 invalid_content_length', async (t) => {
  const { app } = await testApp(t)
  // The same mapping for the error thrown anywhere (routes are added before the first inject).
  app.get('/length', async () => { throw Object.assign(new Error('mismatch'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_CONTENT_LENGTH' }) })
  const expected = [invalid('invalid_content_length', 'The Content-Length header does not match the body that was sent.', 'content-length')]
  for (const length of ['5', '500']) {
    const res = await app.inject({
      method: 'POST',
      url: '/v1/users/bulk_identify',
      headers: { ...auth(), 'content-type': 'application/json', 'content-length': length },
      payload: '{"users":[{"user_id":"u1"}]}'
    })
    expectErrors(t, res, 400, expected)
  }
  expectErrors(t, await app.inject({ method: 'GET', url: '/length' }), 400, expected)
})

t.test('a validation error on a non-body part: headers', async (t) => {
  const { app } = await testApp(t)
  app.get('/needs-header', { schema: { headers: Type.Object({ 'x-count': Type.Integer({ minimum: 1 }) }) } }, async () => ({ ok: true }))
  expectErrors(t, await app.inject({ method: 'GET', url: '/needs-header', headers: { 'x-count': 'abc' } }), 400, [
    invalid('invalid_parameter', 'The headers parameter "x-count" is not valid: Expected integer.', 'headers/x-count')])
  expectErrors(t, await app.inject({ method: 'GET', url: '/needs-header', headers: { 'x-count': '0' } }), 400, [
    invalid('invalid_parameter', 'The headers parameter "x-count" is not valid: Expected integer to be greater or equal to 1.', 'headers/x-count')])
  expectErrors(t, await app.inject({ method: 'GET', url: '/needs-header' }), 400, [
    invalid('invalid_parameter', 'The headers parameter "x-count" is not valid: Expected required property.', 'headers/x-count')])
  const ok = await app.inject({ method: 'GET', url: '/needs-header', headers: { 'x-count': '2' } })
  t.equal(ok.statusCode, 200, 'a valid header passes, converted')
  t.same(ok.json(), { ok: true })
})

t.test('a validation error without a context is read as a (generic) body error', async (t) => {
  const { app } = await testApp(t)
  app.get('/no-context', async () => {
    throw Object.assign(new Error('body must be object'), {
      statusCode: 400,
      code: 'FST_ERR_VALIDATION',
      validation: [{ keyword: 'type', instancePath: '', schemaPath: '#/type', message: 'must be object', params: {} }]
    })
  })
  expectErrors(t, await app.inject({ method: 'GET', url: '/no-context' }), 400, [
    invalid('invalid_body', 'The body: must be object.', 'body')])
})

t.test('a validation error without its list of problems still gets the envelope', async (t) => {
  const { app } = await testApp(t)
  app.get('/no-problems', async () => {
    throw Object.assign(new Error('invalid'), { statusCode: 400, code: 'FST_ERR_VALIDATION', validationContext: 'querystring' })
  })
  const res = await app.inject({ method: 'GET', url: '/no-problems' })
  t.same([...Value.Errors(ErrorEnvelope, res.json())].map((error) => error.path), [], 'still an ErrorEnvelope')
  t.notMatch(res.body, /Cannot read properties/, 'no internal error text in the body')
})

t.test('a URL with broken percent-encoding is answered in the envelope', async (t) => {
  const { app } = await testApp(t)
  const url = '/v1/background_jobs/%E0%A4%A'
  const res = await app.inject({ method: 'GET', url, headers: auth() })
  expectErrors(t, res, 400, [{
    error: 'invalid_request',
    error_code: 'bad_url',
    message: 'The URL has a malformed percent-encoding (such as a lone "%" or a cut "%E0%A4"). Encode each reserved character as %XX.',
    details: JSON.stringify(url)
  }])
})
