// The 1.00 of bench/peers.ts: a bare Fastify 5 route answering a static 202
// with the mock's job-like body. No logger, no schema, no validation; Fastify's
// default JSON parser still reads the body (as any Fastify route would).
// Run: PORT=3001 node bench/peers/fastify-static.mjs
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'

// The same 202 body as the throughput baseline's (bench/baseline-server.ts).
const accepted = JSON.parse(readFileSync(new URL('../floors/accepted.json', import.meta.url), 'utf8'))

// The mock's default body limit, so that the 2.5 MB body of W3 is read, not refused with a 413.
const app = Fastify({ logger: false, bodyLimit: 52_428_800 })
app.post('/v1/users/bulk_identify', async (_request, reply) => await reply.code(202).send(accepted))
await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => { app.close().catch(() => process.exit(1)) })
