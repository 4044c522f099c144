import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { Health } from '../../schemas/health.js'
import { VERSION } from '../../src/version.js'
import { assertSchema, testApp } from '../helpers/app.js'
import { assertStandardHeaders } from '../helpers/http.js'

function expectHealth (t: Test, res: LightMyRequestResponse, uptime: number): void {
  t.equal(res.statusCode, 200)
  assertStandardHeaders(t, res)
  const body: unknown = res.json()
  assertSchema(t, Health, body, 'a Health body')
  t.same(body, { status: 'ok', version: VERSION, uptime_s: uptime })
}

t.test('GET /__mock/health answers without auth', async (t) => {
  const { app } = await testApp(t)
  t.match(VERSION, /^\d+\.\d+\.\d+/, 'the package version')
  expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health' }), 0)
})

t.test('an Authorization header, even a wrong one, does not matter', async (t) => {
  const { app } = await testApp(t, { MOCK_API_KEYS: 'only-this-key' })
  for (const authorization of ['Token not-a-configured-key', 'Bearer x', '']) {
    expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health', headers: { authorization } }), 0)
  }
})

t.test('uptime_s counts whole seconds on the injected clock', async (t) => {
  const { app, clock } = await testApp(t)
  await clock.advance(999)
  expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health' }), 0)
  await clock.advance(4001)
  expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health' }), 5)
  await clock.advance(999)
  expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health' }), 5)
  await clock.advance(1)
  expectHealth(t, await app.inject({ method: 'GET', url: '/__mock/health' }), 6)
})

t.test('an incoming x-request-id is echoed', async (t) => {
  const { app } = await testApp(t)
  const res = await app.inject({ method: 'GET', url: '/__mock/health', headers: { 'x-request-id': 'probe-1' } })
  t.equal(res.statusCode, 200)
  assertStandardHeaders(t, res, 'probe-1')
  assertSchema(t, Health, res.json())
})
