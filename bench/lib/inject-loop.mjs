// One run counted by bench/instructions.ts: REQUESTS requests of one body, in waves of 10
// (W1's connections), through Fastify's inject (no sockets: only this process's work counts).
// TARGET=bare: a Fastify route answering a static 202; TARGET=mock: the app of the tsc build in
// BUILD (a folder holding src/app.js), its settings from SETTINGS (JSON) over the bench's.
// Plain JavaScript, so that nothing compiles TypeScript in the counted process.
import { Writable } from 'node:stream'
import Fastify from 'fastify'

const requests = Number(process.env.REQUESTS)
const body = process.env.BODY ?? '{}'
// W1's API keys (bench/lib/workloads.ts), so that each key's jobs run one at a time as in bench:ab.
const keys = JSON.parse(process.env.KEYS ?? '["bench-w1-0"]')

async function appOf (target) {
  if (target === 'bare') {
    const app = Fastify({ logger: false })
    app.post('/v1/users/bulk_identify', async (_request, reply) => await reply.code(202).send({ job_id: 'bulk:jobs:x', status: 'queued' }))
    return app
  }
  const build = new URL(`${process.env.BUILD}/`, `file://${process.cwd()}/`)
  const { buildApp } = await import(new URL('src/app.js', build).href)
  const { configFromSources } = await import(new URL('src/config.js', build).href)
  const settings = { LOG_LEVEL: 'info', MOCK_CONCURRENCY: 'queue', MOCK_STAGE_MS: '0', ...JSON.parse(process.env.SETTINGS ?? '{}') }
  const config = configFromSources(settings, {})
  // The log line is made and serialized as in the server; only the write to a file is left out.
  const sink = new Writable({ write (_chunk, _encoding, done) { done() } })
  return await buildApp({ config, logger: { level: config.LOG_LEVEL, stream: sink } })
}

const app = await appOf(process.env.TARGET)
await app.ready()
for (let sent = 0; sent < requests; sent += 10) {
  const wave = Array.from({ length: Math.min(10, requests - sent) }, async (_, index) => await app.inject({
    method: 'POST',
    url: '/v1/users/bulk_identify',
    headers: { authorization: `Token ${keys[(sent + index) % keys.length]}`, 'content-type': 'application/json', host: 'localhost' },
    payload: body
  }))
  for (const answer of await Promise.all(wave)) {
    if (answer.statusCode !== 202) {
      console.error(`answer ${answer.statusCode}, not 202: ${answer.body.slice(0, 300)}`)
      process.exit(1)
    }
  }
  // A turn of the event loop per wave, as between a server's reads, so that timers due (job steps) run.
  await new Promise((resolve) => setImmediate(resolve))
}
process.exit(0)
