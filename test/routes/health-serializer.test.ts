import { createRequire } from 'node:module'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { VERSION } from '../../src/version.js'

// Fastify itself loads fast-json-stringify's small runtime (lib/serializer.js); the compiler is its index.js.
const loaded = (): boolean => Object.keys(createRequire(import.meta.url).cache).some((file) => /fast-json-stringify[\\/]index\.js$/.test(file))

t.test('the readiness probe answers without loading the response serializer; other answers load it on first use', async (t) => {
  const app = await buildApp({ logger: false })
  t.teardown(() => app.close())
  t.equal(loaded(), false, 'not loaded at start-up')
  const health = await app.inject({ method: 'GET', url: '/__mock/health' })
  t.equal(health.statusCode, 200)
  t.strictSame(health.json(), { status: 'ok', version: VERSION, uptime_s: 0 })
  t.equal(loaded(), false, 'not loaded by the health answer')
  const job = await app.inject({ method: 'GET', url: '/v1/background_jobs/nope', headers: { authorization: 'Token k' } })
  t.equal(job.statusCode, 404)
  t.equal(loaded(), true, 'loaded by the first answer with a compiled serializer')
})
