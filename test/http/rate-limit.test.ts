import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { auth, testApp } from '../helpers/app.js'
import { expectErrors } from '../helpers/http.js'

const CLIENT = { 'content-type': 'application/json', 'x-api-version': '2020-09-22' }

function call (app: FastifyInstance, method: 'POST' | 'DELETE', url: string, body: unknown, key?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method, url, headers: { ...auth(key), ...CLIENT }, payload: JSON.stringify(body) })
}

const identify = (app: FastifyInstance, n: number, key?: string): Promise<LightMyRequestResponse> => call(app, 'POST', '/v1/identify', { user_id: `u${n}` }, key)
const identifyCompany = (app: FastifyInstance, n: number): Promise<LightMyRequestResponse> => call(app, 'POST', '/v1/companies/identify', { company_id: `c${n}` })
const track = (app: FastifyInstance, n: number): Promise<LightMyRequestResponse> => call(app, 'POST', '/v1/track', { user_id: 'u0', event_name: `e${n}` })
const remove = (app: FastifyInstance): Promise<LightMyRequestResponse> => call(app, 'DELETE', '/v1/users', { users: ['u0'] })

function rateLimited (t: Test, res: LightMyRequestResponse, seconds: number, what: string): void {
  expectErrors(t, res, 429, [{
    error: 'rate_limited',
    error_code: 'rate_limited',
    message: `This API key is over Userpilot's documented limit of ${what}. Retry after ${seconds} s (Retry-After).`,
    details: `retry after ${seconds} s`
  }])
  t.equal(res.headers['retry-after'], String(seconds), 'Retry-After in whole seconds')
}

t.test('off by default: no limit at all', async (t) => {
  const { app } = await testApp(t)
  for (let n = 0; n < 3; n++) t.equal((await remove(app)).statusCode, 202)
})

t.test('MOCK_RATE_LIMITS=docs: 600 identify calls a minute per key, companies identify counted with them', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_RATE_LIMITS: 'docs' })
  for (let n = 0; n < 300; n++) t.equal((await identify(app, n)).statusCode, 202)
  await clock.advance(30_000)
  for (let n = 0; n < 300; n++) t.equal((await identifyCompany(app, n)).statusCode, 202)
  rateLimited(t, await identify(app, 600), 30, '600 identify calls (users and companies together) per minute')
  rateLimited(t, await identifyCompany(app, 600), 30, '600 identify calls (users and companies together) per minute')
  t.equal((await identify(app, 0, 'another-key')).statusCode, 202, 'another key has its own window')
  t.equal((await track(app, 0)).statusCode, 202, 'track is counted apart')
  await clock.advance(29_999)
  rateLimited(t, await identify(app, 600), 1, '600 identify calls (users and companies together) per minute')
  await clock.advance(1)
  t.equal((await identify(app, 600)).statusCode, 202, 'honest: once the first 300 leave the window, a call passes')
})

t.test('600 track calls a minute per key', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_RATE_LIMITS: 'docs' })
  for (let n = 0; n < 600; n++) t.equal((await track(app, n)).statusCode, 202)
  rateLimited(t, await track(app, 600), 60, '600 track calls per minute')
  await clock.advance(59_001)
  rateLimited(t, await track(app, 600), 1, '600 track calls per minute')
  await clock.advance(999)
  t.equal((await track(app, 600)).statusCode, 202)
})

t.test('one delete request every 2 seconds, users and companies together', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_RATE_LIMITS: 'docs' })
  t.equal((await remove(app)).statusCode, 202)
  await clock.advance(500)
  rateLimited(t, await call(app, 'DELETE', '/v1/companies', { companies: ['c'] }), 2, 'one delete request every 2 seconds')
  await clock.advance(1000)
  rateLimited(t, await remove(app), 1, 'one delete request every 2 seconds')
  await clock.advance(500)
  t.equal((await remove(app)).statusCode, 202)
})

t.test('order: 401 before 429, 429 before 415 and validation; bulk and control calls are not limited', async (t) => {
  const { app } = await testApp(t, { MOCK_RATE_LIMITS: 'docs', MOCK_API_KEYS: 'good' })
  t.equal((await remove(app)).statusCode, 401, 'an unknown key is 401, never counted')
  t.equal((await call(app, 'DELETE', '/v1/users', { users: ['x'] }, 'good')).statusCode, 202)
  const bad = await app.inject({ method: 'DELETE', url: '/v1/users', headers: { ...auth('good'), 'content-type': 'text/plain' }, payload: 'x' })
  t.equal(bad.statusCode, 429, 'the rate limit comes before the content type')
  for (let n = 0; n < 3; n++) {
    t.equal((await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth('good') })).statusCode, 200, 'not a limited route')
  }
  const journal = await app.inject({ method: 'GET', url: '/__mock/requests', headers: auth('good') })
  t.strictSame(journal.json<Array<{ status: number }>>().map((entry) => entry.status), [200, 200, 200, 429, 202], 'the 429 is journaled')
})
