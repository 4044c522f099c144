// The benchmark's baseline: a plain Fastify 5 server that answers the mock's
// routes with static bodies. Fastify's default JSON parser reads the body;
// no schema, no validation, no store, no jobs. Logging as the mock's default:
// pino at LOG_LEVEL (info), one line per request, so both pay for one log line;
// BASELINE_LOG=none: no logger at all (the bare Fastify route of issue 17's ratios).
// Run: PORT=3001 [BASELINE_LOG=none] node --import tsx bench/baseline-server.ts
import Fastify, { LogController } from 'fastify'
import { staticJobStatus } from './lib/bodies.js'
import accepted from './floors/accepted.json' with { type: 'json' }

const jobStatus = staticJobStatus()

const logLines = process.env.BASELINE_LOG !== 'none'
const app = Fastify({
  logger: logLines ? { level: process.env.LOG_LEVEL ?? 'info' } : false,
  // Fastify's own two lines per request off, as in the mock (its top-level disableRequestLogging is deprecated).
  logController: new LogController({ disableRequestLogging: true }),
  // The mock's default body limit, so that 2.5 MB bodies are read, not refused.
  bodyLimit: 52_428_800
})
if (logLines) {
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ method: request.method, url: request.url, statusCode: reply.statusCode, responseTime: reply.elapsedTime }, 'request')
  })
}
app.post('/v1/users/bulk_identify', async (_request, reply) => await reply.code(202).send(accepted))
app.get('/v1/background_jobs/:job_id', async () => jobStatus)
app.post('/v1/identify', async (_request, reply) => await reply.code(202).send({}))
app.get('/__mock/health', async () => ({ status: 'ok' }))

await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { app.close().catch(() => process.exit(1)) })
