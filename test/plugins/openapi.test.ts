import t from 'tap'
import { CompaniesBulkBodySchema, UsersBulkBodySchema } from '../../schemas/bulk.js'
import { FaultInput } from '../../schemas/control.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { BackgroundJob, JobAccepted } from '../../schemas/jobs.js'
import { markOptionalBodies } from '../../src/plugins/openapi.js'
import { VERSION } from '../../src/version.js'
import { assertSchema, testApp } from '../helpers/app.js'

interface Operation {
  tags?: string[]
  summary?: string
  description?: string
  parameters?: Array<{ in: string, name: string, required: boolean, schema?: Record<string, unknown> }>
  requestBody?: { required: boolean, content: Record<string, { schema: Record<string, any>, example?: unknown }> }
  responses: Record<string, { content?: Record<string, { schema: Record<string, any>, example?: unknown }> }>
}

interface Document {
  openapi: string
  info: { title: string, version: string, description: string }
  tags: Array<{ name: string, description: string }>
  servers: unknown
  security: unknown
  components: { securitySchemes: Record<string, unknown> }
  paths: Record<string, Record<string, Operation>>
}

/** Every route the mock serves, as OpenAPI writes them. */
const ROUTES = [
  'post /v1/users/bulk_identify',
  'post /v1/companies/bulk_identify',
  'get /v1/background_jobs/{job_id}',
  'get /v1/background_jobs',
  'post /v1/identify',
  'post /v1/companies/identify',
  'post /v1/track',
  'delete /v1/users',
  'delete /v1/companies',
  'get /v1/validate',
  'get /__mock/health',
  'get /__mock/users',
  'get /__mock/users/{user_id}',
  'get /__mock/companies',
  'get /__mock/companies/{company_id}',
  'get /__mock/deletions',
  'get /__mock/requests',
  'post /__mock/reset',
  'get /__mock/jobs',
  'get /__mock/jobs/{job_id}',
  'post /__mock/jobs/{job_id}/advance',
  'post /__mock/jobs/{job_id}/fail',
  'post /__mock/clock/flush',
  'post /__mock/faults',
  'get /__mock/faults',
  'delete /__mock/faults',
  'get /__mock/events',
  'post /v1/imports',
  'post /api/v1/analytics/exports/',
  'get /api/v1/analytics/exports/jobs/{job_id}',
  'get /api/v1/analytics/exports/jobs/',
  'get /api/v1/analytics/exports/files/{tenant}/{job_id}/{filename}',
  'get /__mock/exports',
  'post /__mock/exports/{job_id}/advance',
  'post /__mock/exports/{job_id}/fail',
  'put /__mock/lookups/{name}',
  ...['user_properties', 'company_properties', 'segments', 'features_events', 'events_properties', 'flows', 'banners', 'embeds', 'spotlights', 'surveys', 'resource_center_modules', 'checklists'].map((name) => `get /api/v1/analytics/exports/lookups/${name}`)
]

async function documentOf (t: Parameters<typeof testApp>[0], config: Parameters<typeof testApp>[1] = {}): Promise<{ doc: Document, app: Awaited<ReturnType<typeof testApp>>['app'] }> {
  const { app } = await testApp(t, config)
  const res = await app.inject({ method: 'GET', url: '/documentation/json' })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  return { doc: res.json<Document>(), app }
}

function operations (doc: Document): Array<[string, Operation]> {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => [`${method} ${path}`, op] as [string, Operation]))
}

t.test('GET /documentation/json: an OpenAPI 3 document of the mock', async (t) => {
  const { doc } = await documentOf(t)
  t.equal(doc.openapi, '3.0.3')
  t.same(doc.info, {
    title: 'userpilot-mock',
    version: VERSION,
    description: "A local, stateful mock of Userpilot's server API — real-time identify and track, deletes, bulk identify, historical imports and their background jobs (tag **Userpilot**), exports and lookups (tag **Export API**) — and the mock's own control API (tag **Mock control**)."
  })
  t.same(doc.tags.map((tag) => tag.name), ['Userpilot', 'Export API', 'Mock control'])
  t.same(doc.servers, [{ url: '/', description: 'this mock' }])
  t.same(doc.security, [{ apiKey: [] }])
  t.same(doc.components.securitySchemes, { apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Token <API_KEY>`' } })
})

t.test('every /v1 and /__mock route is listed, and nothing else', async (t) => {
  const { doc, app } = await documentOf(t)
  t.same(operations(doc).map(([name]) => name).sort(), [...ROUTES].sort())
  for (const name of ROUTES) {
    const [method, path] = name.split(' ') as [string, string]
    t.ok(app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{(\w+)\}/g, ':$1') }), `${name} is a route`)
  }
})

t.test('tags: Userpilot for /v1, Export API for the appex paths, Mock control for /__mock; every operation has a summary', async (t) => {
  const { doc } = await documentOf(t)
  for (const [name, op] of operations(doc)) {
    t.same(op.tags, [name.includes(' /v1/') ? 'Userpilot' : name.includes(' /api/v1/analytics/') ? 'Export API' : 'Mock control'], name)
    t.type(op.summary, 'string', `${name} has a summary`)
  }
})

t.test('the bulk request schemas: JSON and multipart, with the required ids and an example', async (t) => {
  const { doc } = await documentOf(t, { MOCK_MAX_RECORDS: 5 })
  for (const [collection, id, schema] of [['users', 'user_id', UsersBulkBodySchema('primitives')], ['companies', 'company_id', CompaniesBulkBodySchema('primitives')]] as const) {
    const op = doc.paths[`/v1/${collection}/bulk_identify`]?.post as Operation
    const json = op.requestBody?.content['application/json']
    t.same(json?.schema.required, [collection], `the body requires ${collection}`)
    t.same(json?.schema.properties[collection].items.required, [id], `each row requires ${id}`)
    t.equal(json?.schema.properties[collection].minItems, 1)
    t.ok(json?.example, 'an example body')
    assertSchema(t, schema, json?.example, `the ${collection} example is a valid body`)
    t.same(op.requestBody?.content['multipart/form-data']?.schema, {
      required: ['file'],
      type: 'object',
      properties: { file: { format: 'binary', description: 'An NDJSON file: one JSON row per line, blank lines skipped.', type: 'string' } }
    })
    t.match(op.description, `up to 5 ${collection}`, 'MOCK_MAX_RECORDS is in the description')
    t.same(Object.keys(op.responses).sort(), ['202', '4XX', '5XX'])
    t.equal(op.responses['202']?.content?.['application/json']?.schema.title, 'JobAccepted')
    assertSchema(t, JobAccepted, op.responses['202']?.content?.['application/json']?.example, 'the 202 example is a JobAccepted')
    t.equal(op.responses['4XX']?.content?.['application/json']?.schema.title, 'ErrorEnvelope')
    assertSchema(t, ErrorEnvelope, op.responses['4XX']?.content?.['application/json']?.example, 'the error example is an ErrorEnvelope')
  }
})

t.test('the job status example is a BackgroundJob', async (t) => {
  const { doc } = await documentOf(t)
  const content = doc.paths['/v1/background_jobs/{job_id}']?.get?.responses['200']?.content?.['application/json']
  t.equal(content?.schema.title, 'BackgroundJob')
  assertSchema(t, BackgroundJob, content?.example)
})

t.test('control routes document their scope: the key and admin headers, ?all, and their schemas', async (t) => {
  const { doc } = await documentOf(t)
  for (const [name, op] of operations(doc)) {
    if (!name.includes(' /__mock/') || name === 'get /__mock/health') continue
    const params = (op.parameters ?? []).map((param) => `${param.in}:${param.name}`)
    t.ok(params.includes('header:authorization') && params.includes('header:x-mock-admin'), `${name}: authorization and x-mock-admin headers`)
    // Queuing faults and setting lookups are for one key: no ?all.
    if (name !== 'post /__mock/faults' && name !== 'put /__mock/lookups/{name}') t.ok(params.includes('query:all'), `${name}: ?all`)
  }
  const users = doc.paths['/__mock/users']?.get as Operation
  t.same((users.parameters ?? []).filter((param) => param.in === 'query').map((param) => param.name), ['all', 'limit', 'offset', 'company_id'])
  t.equal(users.responses['200']?.content?.['application/json']?.schema.items.title, 'MockUser')
  const faults = doc.paths['/__mock/faults']?.post as Operation
  const input = faults.requestBody?.content['application/json']
  t.same(Object.keys(input?.schema.properties ?? {}), ['match', 'times', 'status', 'delay_ms', 'body', 'headers', 'drop_connection'])
  assertSchema(t, FaultInput, input?.example, 'the fault example is a valid rule')
  t.equal(faults.responses['201']?.content?.['application/json']?.schema.properties.faults.items.title, 'Fault')
  const job = doc.paths['/__mock/jobs/{job_id}']?.get as Operation
  t.equal(job.responses['200']?.content?.['application/json']?.schema.title, 'MockJob')
})

t.test('query parameters with defaults are documented as optional', async (t) => {
  const { doc } = await documentOf(t)
  for (const name of ['get /__mock/users', 'get /__mock/companies', 'get /__mock/jobs', 'get /__mock/requests', 'get /v1/background_jobs']) {
    const [method, path] = name.split(' ') as [string, string]
    const query = (doc.paths[path]?.[method]?.parameters ?? []).filter((param) => param.in === 'query')
    t.same(query.filter((param) => param.required).map((param) => param.name), [], `${name}: no query parameter is required`)
    t.same(query.filter((param) => param.name === 'limit' || param.name === 'offset').map((param) => [param.name, param.schema?.default]), [['limit', 50], ['offset', 0]], `${name}: the defaults are shown`)
  }
})

t.test('advance, fail and a new export take no body, and the document says so; other bodies are required', async (t) => {
  const { doc } = await documentOf(t)
  const required = operations(doc).filter(([, op]) => op.requestBody !== undefined).map(([name, op]) => [name, op.requestBody?.required])
  t.same(required, [
    ['post /v1/users/bulk_identify', true],
    ['post /v1/companies/bulk_identify', true],
    ['post /v1/imports', true],
    ['post /v1/identify', true],
    ['post /v1/companies/identify', true],
    ['post /v1/track', true],
    ['delete /v1/users', true],
    ['delete /v1/companies', true],
    ['post /api/v1/analytics/exports/', false],
    ['post /__mock/jobs/{job_id}/advance', false],
    ['post /__mock/jobs/{job_id}/fail', false],
    ['post /__mock/faults', true],
    ['post /__mock/exports/{job_id}/advance', false],
    ['put /__mock/lookups/{name}', true]
  ])
})

t.test('GET /documentation serves the Swagger UI; the YAML form is there too', async (t) => {
  const { app } = await testApp(t, { MOCK_ADMIN_TOKEN: 'admin', MOCK_API_KEYS: 'only-key' })
  const ui = await app.inject({ method: 'GET', url: '/documentation' })
  t.equal(ui.statusCode, 200)
  t.equal(ui.headers['content-type'], 'text/html; charset=utf-8')
  t.match(ui.body, '<title>Swagger UI</title>')
  t.match(ui.body, 'swagger-ui.css')
  const yaml = await app.inject({ method: 'GET', url: '/documentation/yaml' })
  t.equal(yaml.statusCode, 200)
  t.match(yaml.body, /^openapi: 3\.0\.3\n/)
  t.equal((await app.inject({ method: 'GET', url: '/documentation/json' })).statusCode, 200, 'no key or admin token needed')
})

t.test('markOptionalBodies: only JSON bodies whose schema is nullable become optional', async (t) => {
  const document = {
    paths: {
      '/a': {
        post: { requestBody: { required: true, content: { 'application/json': { schema: { nullable: true } } } } },
        put: { requestBody: { required: true, content: { 'application/json': { schema: { nullable: false } } } } },
        patch: { requestBody: { required: true, content: { 'application/json': { schema: {} } } } },
        delete: { requestBody: { required: true, content: { 'multipart/form-data': { schema: { nullable: true } } } } }
      },
      '/b': {
        get: {},
        post: { requestBody: { required: true } },
        put: { requestBody: { required: true, content: { 'application/json': {} } } }
      }
    }
  }
  markOptionalBodies(document)
  t.same(document.paths['/a'].post.requestBody.required, false)
  t.same([document.paths['/a'].put, document.paths['/a'].patch, document.paths['/a'].delete].map((op) => op.requestBody.required), [true, true, true])
  t.same(document.paths['/b'], { get: {}, post: { requestBody: { required: true } }, put: { requestBody: { required: true, content: { 'application/json': {} } } } }, 'unchanged')
  const empty = {}
  markOptionalBodies(empty)
  t.same(empty, {}, 'a document without paths')
})
