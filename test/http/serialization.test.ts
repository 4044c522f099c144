import t from 'tap'
import { Type } from '@sinclair/typebox'
import { BackgroundJob, JobAccepted } from '../../schemas/jobs.js'
import { forSerializer, serializerCompiler } from '../../src/http/serialization.js'
import { testApp } from '../helpers/app.js'

const compile = (schema: unknown): ((data: unknown) => string) => serializerCompiler({ schema, method: 'GET', url: '/', httpStatus: '200' })

const accepted = {
  job_id: 'bulk:jobs:NX-1:2',
  status: 'queued',
  total_rows: 2,
  file_size: 10,
  filename: 'f.json',
  type: 'users',
  links: 'http://x/v1/background_jobs/bulk:jobs:NX-1:2',
  start_time: '2025-05-19T07:29:12.000Z',
  submitted_at: '2025-05-19T07:29:12.000Z',
  end_time: null
}

t.test('forSerializer: a union of string literals becomes a string enum', async (t) => {
  const schema = Type.Union([Type.Literal('a'), Type.Literal('b')], { description: 'd' })
  t.same(forSerializer(schema), { description: 'd', type: 'string', enum: ['a', 'b'] })
})

t.test('forSerializer: a union of bare types becomes a type list, keeping one shared format', async (t) => {
  t.same(forSerializer(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])), { type: ['string', 'null'], format: 'date-time' })
  t.same(forSerializer(Type.Union([Type.String(), Type.Number(), Type.Boolean()])), { type: ['string', 'number', 'boolean'] })
  t.same(forSerializer(Type.Union([Type.String({ format: 'date-time' }), Type.String({ format: 'email' })])), { type: ['string'] }, 'two formats: none kept')
})

t.test('forSerializer: other unions, and data keywords, are left as they are', async (t) => {
  const object = Type.Union([Type.Object({ a: Type.String() }), Type.Null()])
  t.same((forSerializer(object) as { anyOf: unknown[] }).anyOf.length, 2, 'an object branch keeps the anyOf')
  t.same(forSerializer(Type.Union([Type.String({ minLength: 1 }), Type.Null()])), { anyOf: [{ type: 'string', minLength: 1 }, { type: 'null' }] }, 'a constrained branch is not a bare type')
  t.same(forSerializer({ anyOf: [] }), { anyOf: [] })
  t.same(forSerializer({ anyOf: [true, { type: 'null' }] }), { anyOf: [true, { type: 'null' }] }, 'a boolean branch is not rewritten')
  const examples = [{ anyOf: [{ const: 'x' }] }]
  t.equal((forSerializer({ type: 'object', examples }) as { examples: unknown }).examples, examples, 'examples are data, not schemas')
  t.same(forSerializer({ type: 'object', required: ['anyOf'], properties: { anyOf: Type.Union([Type.Literal('x'), Type.Literal('y')]) } }), { type: 'object', required: ['anyOf'], properties: { anyOf: { type: 'string', enum: ['x', 'y'] } } }, 'a property named like a keyword is a schema')
})

t.test('serializerCompiler: the 202 and the job status serialize exactly as JSON.stringify would', async (t) => {
  t.equal(compile(JobAccepted)(accepted), JSON.stringify(accepted))
  const running = { ...accepted, status: 'processing', end_time: null, completed_rows: 1, elapsed_time: 0 }
  const done = { ...accepted, status: 'completed', end_time: '2025-05-19T07:29:13.000Z', completed_rows: 2, elapsed_time: 1 }
  const serialize = compile(BackgroundJob)
  t.equal(serialize(running), JSON.stringify(running))
  t.equal(serialize(done), JSON.stringify(done), 'compiled once, used again')
  t.equal(compile(Type.Array(BackgroundJob))([running, done]), JSON.stringify([running, done]))
})

t.test('every response schema of every route compiles (they are compiled on first use, not at start-up)', async (t) => {
  const { app } = await testApp(t)
  await app.ready()
  const doc = app.swagger() as unknown as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> }
  let compiled = 0
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const media of Object.values(response.content ?? {})) {
          t.doesNotThrow(() => { compile(media.schema)(null) }, `${method.toUpperCase()} ${path} ${status}`)
          compiled++
        }
      }
    }
  }
  t.ok(compiled >= 30, `${compiled} response schemas compiled`)
})
