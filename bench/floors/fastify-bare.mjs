// Start-up floor of a Fastify 5 server on this machine: one health route,
// pino at info, no plugin, plain JavaScript (no tsx), as the mock's build runs.
// Run: PORT=3001 node bench/floors/fastify-bare.mjs
import Fastify from 'fastify'

const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } })
app.get('/__mock/health', async () => ({ status: 'ok' }))
await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
process.once('SIGTERM', () => { app.close().catch(() => process.exit(1)) })
