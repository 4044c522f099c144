// Issue 17's "minimal honest route": what a hand-written Fastify + TypeBox mock of
// bulk identify does at the least — the API key checked, the body validated by its
// schema, a job id made and kept in a bounded map, the 202 serialized by its schema —
// and nothing else: no journal, no job lifecycle, no fidelity warnings, no log line.
// A reference point between bare Fastify (a static 202) and the mock for `npm run
// bench:ab -- --minimal yes`; not a server anyone should use.
// Run: PORT=3001 node --import tsx bench/minimal-server.ts
import { randomUUID } from 'node:crypto'
import Fastify, { LogController } from 'fastify'
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox'

/** Jobs kept, the oldest dropped beyond it: a bound, as the mock has one (MOCK_JOB_RETENTION, 1,000 ended jobs a key). */
const KEPT_JOBS = 10_000

const Scalar = Type.Union([Type.String(), Type.Number(), Type.Boolean(), Type.Null()])
const Row = Type.Object({
  user_id: Type.String({ minLength: 1 }),
  company_id: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Record(Type.String(), Scalar))
})
const Body = Type.Object({ users: Type.Array(Row, { minItems: 1, maxItems: 10_000 }) })
const Accepted = Type.Object({
  job_id: Type.String(),
  status: Type.String(),
  total_rows: Type.Integer(),
  type: Type.String(),
  submitted_at: Type.String()
})
const Refused = Type.Object({ errors: Type.Array(Type.Object({ status: Type.Integer(), code: Type.String(), message: Type.String() })) })

const jobs = new Map<string, { key: string, rows: number, at: number }>()

const app = Fastify({ logger: false, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 52_428_800 })
  .withTypeProvider<TypeBoxTypeProvider>()

app.post('/v1/users/bulk_identify', {
  schema: { body: Body, response: { 202: Accepted, 401: Refused } },
  onRequest: (request, reply, done) => {
    const match = /^Token (\S+)$/.exec(request.headers.authorization ?? '')
    if (match === null) {
      reply.code(401).send({ errors: [{ status: 401, code: 'invalid_api_key', message: 'Expected "Authorization: Token <API_KEY>".' }] })
      return
    }
    done()
  }
}, async (request, reply) => {
  const jobId = `bulk:jobs:${randomUUID()}`
  const at = Date.now()
  jobs.set(jobId, { key: request.headers.authorization as string, rows: request.body.users.length, at })
  if (jobs.size > KEPT_JOBS) jobs.delete(jobs.keys().next().value as string)
  return await reply.code(202).send({ job_id: jobId, status: 'queued', total_rows: request.body.users.length, type: 'users', submitted_at: new Date(at).toISOString() })
})
app.get('/__mock/health', async () => ({ status: 'ok' }))

await app.listen({ port: Number(process.env.PORT ?? 3001), host: process.env.HOST ?? '127.0.0.1' })
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => { app.close().catch(() => process.exit(1)) })
