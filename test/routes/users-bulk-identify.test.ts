import { readFileSync } from 'node:fs'
import t from 'tap'
import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import { UsersBulkBodySchema } from '../../schemas/bulk.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, assertSchema, auth, bulkUsers, getJob, testApp, users } from '../helpers/app.js'
import {
  CACHE_CONTROL, CLOCK_START, JSON_UTF8, expectAccepted, expectErrors, expectJob, expectJobList,
  invalid, jobView, listJobs, rawRequest
} from '../helpers/http.js'

/** What the tests read from the upstream OpenAPI excerpt. */
interface UpstreamProperty { type?: string, format?: string, nullable?: boolean, enum?: string[] }
interface UpstreamExcerpt {
  servers: Array<{ url: string }>
  paths: {
    '/v1/users/bulk_identify': {
      post: {
        parameters: Array<{ name: string, in: string, required: boolean, example: string }>
        requestBody: { content: { 'application/json': { example: { users: Array<Record<string, unknown>> } } } }
        responses: {
          202: {
            headers: Record<string, { schema: { example?: string } }>
            content: { 'application/json': { schema: { type: 'object', properties: Record<string, UpstreamProperty> } } }
          }
        }
      }
    }
  }
}

const upstream = JSON.parse(readFileSync(new URL('../fixtures/upstream-bulk-identify.openapi.json', import.meta.url), 'utf8')) as UpstreamExcerpt
const operation = upstream.paths['/v1/users/bulk_identify'].post
const upstreamExample = operation.requestBody.content['application/json'].example
const upstream202 = operation.responses[202]

const BODY_TOO_LARGE_1024 = {
  error: 'payload_too_large',
  error_code: 'body_too_large',
  message: 'The request body is larger than 1024 bytes (MOCK_BODY_LIMIT). Split the rows into several requests.',
  details: 'limit 1024 bytes'
}

function tooManyRecords (max: number, count: number) {
  return {
    error: 'payload_too_large',
    error_code: 'too_many_records',
    message: `A bulk request carries at most ${max} users; this one has ${count}. Split them into several requests.`,
    details: `/users holds ${count} items`
  }
}

function unsupported (contentType: string) {
  return {
    error: 'unsupported_media_type',
    error_code: 'unsupported_content_type',
    message: 'Send the body as Content-Type: application/json (or multipart/form-data with an NDJSON file in the field "file").',
    details: `content-type ${contentType}`
  }
}

/** `{"users":[{"user_id":"u1"}]}` padded with trailing spaces to exactly `bytes` bytes. */
function paddedBody (bytes: number): string {
  const body = '{"users":[{"user_id":"u1"}]}'
  return body + ' '.repeat(bytes - body.length)
}

/** The message JSON.parse gives for `text`, as the malformed_json entry quotes it. */
function parseMessage (text: string): string {
  try {
    JSON.parse(text)
  } catch (error) {
    return (error as Error).message
  }
  throw new Error('the text parsed')
}

t.test('202: the whole answer for a small request', async (t) => {
  const { app } = await testApp(t)
  const payload = JSON.stringify({ users: [{ user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro' } }, { user_id: 'u2' }] })
  const res = await bulkUsers(app, payload)
  const body = expectAccepted(t, res, { totalRows: 2, fileSize: Buffer.byteLength(payload) })
  t.equal(body.file_size, 89, 'the byte count of this very payload')
  t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
  t.equal(res.headers['cache-control'], 'max-age=0, private, must-revalidate')
})

t.test('each request gets its own job id', async (t) => {
  const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
  const first = expectAccepted(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }), { totalRows: 1, fileSize: 28 })
  const second = expectAccepted(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }), { totalRows: 1, fileSize: 28 })
  t.not(first.job_id, second.job_id)
  t.not(first.filename, second.filename)
})

t.test('file_size is the byte count of the body as received', async (t) => {
  t.test('multi-byte UTF-8', async (t) => {
    const { app } = await testApp(t)
    const payload = '{"users":[{"user_id":"ü-😀-日本","metadata":{"city":"Zürich","note":"naïve café"}}]}'
    t.not(Buffer.byteLength(payload), payload.length, 'precondition: bytes differ from UTF-16 units')
    expectAccepted(t, await bulkUsers(app, payload), { totalRows: 1, fileSize: Buffer.byteLength(payload) })
  })

  t.test('extra whitespace, as sent', async (t) => {
    const { app } = await testApp(t)
    const payload = '\n  ' + JSON.stringify({ users: [{ user_id: 'u1', metadata: { a: 1 } }, { user_id: 'u2' }] }, null, 4) + '\r\n\t  \n'
    t.not(Buffer.byteLength(payload), Buffer.byteLength(JSON.stringify(JSON.parse(payload))), 'precondition: not the re-serialized size')
    expectAccepted(t, await bulkUsers(app, payload), { totalRows: 2, fileSize: Buffer.byteLength(payload) })
  })
})

t.test('links: an absolute URL to the job', async (t) => {
  t.test('from the Host header', async (t) => {
    const { app } = await testApp(t)
    const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), host: 'mock.internal:3000' })
    const body = expectAccepted(t, res, { totalRows: 1, fileSize: 28, base: 'http://mock.internal:3000' })
    expectJob(t, await getJob(app, body.job_id, { ...auth(), host: 'mock.internal:3000' }), jobView(body, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
  })

  t.test('MOCK_PUBLIC_URL wins, trailing slashes trimmed', async (t) => {
    for (const [publicUrl, base] of [
      ['http://mock:3000/', 'http://mock:3000'],
      ['https://mocks.example.com/userpilot///', 'https://mocks.example.com/userpilot'],
      ['http://127.0.0.1:4010', 'http://127.0.0.1:4010']
    ] as const) {
      const { app } = await testApp(t, { MOCK_PUBLIC_URL: publicUrl })
      const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), host: 'ignored.example:9999' })
      expectAccepted(t, res, { totalRows: 1, fileSize: 28, base })
    }
  })

  t.test('each upstream server as MOCK_PUBLIC_URL', async (t) => {
    t.same(upstream.servers.map((server) => server.url), ['https://analytex.userpilot.io', 'https://analytex-eu.userpilot.io'])
    for (const { url } of upstream.servers) {
      const { app } = await testApp(t, { MOCK_PUBLIC_URL: url })
      expectAccepted(t, await bulkUsers(app, { users: [{ user_id: 'u1' }] }), { totalRows: 1, fileSize: 28, base: url })
    }
  })

  t.test('no Host header at all (HTTP/1.0): localhost', async (t) => {
    const { app } = await testApp(t)
    const payload = '{"users":[{"user_id":"u1"}]}'
    const res = await rawRequest(app, [
      'POST /v1/users/bulk_identify HTTP/1.0',
      `Authorization: Token ${KEY}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(payload)}`,
      '',
      payload
    ].join('\r\n'))
    t.equal(res.statusCode, 202)
    t.equal(res.headers['content-type'], JSON_UTF8)
    t.equal(res.headers['cache-control'], CACHE_CONTROL)
    const body = JSON.parse(res.body) as JobAccepted
    assertSchema(t, JobAccepted, body)
    t.equal(body.links, `http://localhost/v1/background_jobs/${body.job_id}`)
    t.equal(body.file_size, 28)
  })
})

t.test('upstream contract: the 202 body satisfies the upstream OpenAPI response schema', async (t) => {
  const { app } = await testApp(t)
  // The upstream request: its own example body, with the documented Authorization header.
  const authorization = operation.parameters.find((parameter) => parameter.name === 'Authorization')
  t.match(authorization, { in: 'header', required: true, example: 'Token {{API_KEY}}' })
  const payload = JSON.stringify(upstreamExample)
  const res = await bulkUsers(app, payload, { authorization: (authorization?.example ?? '').replace('{{API_KEY}}', KEY) })
  const body = expectAccepted(t, res, { totalRows: 2, fileSize: Buffer.byteLength(payload) })

  // Documented response headers.
  t.same(Object.keys(upstream202.headers), ['Content-Type', 'cache-control', 'x-request-id'])
  t.equal(res.headers['content-type'], upstream202.headers['Content-Type']?.schema.example)
  t.equal(res.headers['cache-control'], upstream202.headers['cache-control']?.schema.example)
  t.type(res.headers['x-request-id'], 'string')

  // The schema, compiled as upstream publishes it. OpenAPI's `nullable: true` on end_time: Ajv 8
  // knows `nullable` only beside a `type`, so the fixture writes `{ nullable: true, type: 'string' }`
  // (see its $comment); upstream's own text has no type there.
  const schema = upstream202.content['application/json'].schema
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats.default(ajv)
  ajv.addFormat('style', true)
  const validate = ajv.compile(schema)
  t.equal(validate(body), true, 'valid against the upstream schema')
  t.same(validate.errors, null, 'no Ajv errors')

  // Every upstream field, present with the upstream type.
  t.same(Object.keys(schema.properties).sort(),
    ['end_time', 'file_size', 'filename', 'job_id', 'links', 'start_time', 'status', 'total_rows', 'type'])
  const record = body as unknown as Record<string, unknown>
  for (const [name, property] of Object.entries(schema.properties)) {
    t.ok(Object.hasOwn(record, name), `${name} is present`)
    const value = record[name]
    if (property.nullable === true && value === null) {
      t.pass(`${name} is null, which upstream allows`)
    } else if (property.type === 'integer') {
      t.ok(Number.isInteger(value), `${name} is an integer`)
    } else {
      t.type(value, property.type as string, `${name} is a ${property.type as string}`)
    }
    if (property.enum !== undefined) t.ok(property.enum.includes(value as string), `${name} is one of the upstream values`)
  }
  t.equal(body.end_time, null)
  t.equal(body.status, 'queued')

  // The contract is not vacuous: a wrong body fails it.
  t.equal(validate({ ...body, total_rows: '2', end_time: 5, status: 'done', job_id: 'not a uri' }), false)
  t.same(validate.errors?.map((error) => error.instancePath).sort(), ['/end_time', '/job_id', '/status', '/total_rows'])
})

t.test('upstream request example', async (t) => {
  t.test('accepted in primitives mode (the default)', async (t) => {
    const { app, clock } = await testApp(t)
    const payload = JSON.stringify(upstreamExample)
    const accepted = expectAccepted(t, await bulkUsers(app, payload), { totalRows: 2, fileSize: Buffer.byteLength(payload) })
    await clock.advance(800)
    expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, {
      status: 'completed', completed_rows: 2, elapsed_time: 0, end_time: new Date(CLOCK_START + 800).toISOString()
    }))
    const stored = await app.mock.store.profiles.getUser(tenantOf(KEY).id, 'user_123')
    t.equal(stored?.companyId, 'comp_techstartup_2024')
    t.same({ ...stored?.metadata }, upstreamExample.users[0]?.metadata, 'numbers kept as numbers')
  })

  t.test('rejected in strings mode: the numeric values, each named', async (t) => {
    const { app } = await testApp(t, { MOCK_METADATA: 'strings' })
    const expected = [0, 1].flatMap((row) => ['tickets_pending', 'avg_resolution_time', 'escalation_count'].map((key) => invalid(
      'invalid_metadata_value',
      `users[${row}].metadata["${key}"] is not accepted. Expected: A string, or null to remove the property (MOCK_METADATA=strings).`,
      `/users/${row}/metadata/${key}`
    )))
    expectErrors(t, await bulkUsers(app, upstreamExample), 400, expected)
    expectJobList(t, await listJobs(app), [])
  })
})

t.test("the body schema's own example: accepted with primitives, rejected with strings (by design)", async (t) => {
  const example = (UsersBulkBodySchema('primitives').examples as unknown[])[0] as { users: unknown[] }
  const primitives = await testApp(t)
  const payload = JSON.stringify(example)
  expectAccepted(t, await bulkUsers(primitives.app, payload), { totalRows: 2, fileSize: Buffer.byteLength(payload) })
  const strings = await testApp(t, { MOCK_METADATA: 'strings' })
  expectErrors(t, await bulkUsers(strings.app, payload), 400, [0, 1].map((row) => invalid(
    'invalid_metadata_value',
    `users[${row}].metadata["tickets_pending"] is not accepted. Expected: A string, or null to remove the property (MOCK_METADATA=strings).`,
    `/users/${row}/metadata/tickets_pending`
  )))
})

t.test('content type', async (t) => {
  t.test('application/json, any case, with a charset', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    for (const contentType of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']) {
      const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), 'content-type': contentType })
      expectAccepted(t, res, { totalRows: 1, fileSize: 28 })
    }
  })

  t.test('anything else: 415', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    for (const contentType of ['text/plain', 'text/json', 'application/jsonp', 'application/x-www-form-urlencoded', 'application/xml', 'application/x-ndjson']) {
      const res = await bulkUsers(app, { users: [{ user_id: 'u1' }] }, { ...auth(), 'content-type': contentType })
      expectErrors(t, res, 415, [unsupported(`"${contentType}"`)])
    }
    expectJobList(t, await listJobs(app), [])
  })

  t.test('a body without a content type: 415', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const res = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: auth(), payload: '{"users":[{"user_id":"u1"}]}' })
    expectErrors(t, res, 415, [unsupported('"(none)"')])
  })
})

t.test('limits', async (t) => {
  t.test('10,000 users are accepted', async (t) => {
    const { app } = await testApp(t)
    const payload = JSON.stringify({ users: users(10_000) })
    expectAccepted(t, await bulkUsers(app, payload), { totalRows: 10_000, fileSize: Buffer.byteLength(payload) })
  })

  t.test('10,001 users: 413 too_many_records', async (t) => {
    const { app } = await testApp(t)
    expectErrors(t, await bulkUsers(app, { users: users(10_001) }), 413, [tooManyRecords(10_000, 10_001)])
    expectJobList(t, await listJobs(app), [])
  })

  t.test('MOCK_MAX_RECORDS sets the limit', async (t) => {
    const { app } = await testApp(t, { MOCK_MAX_RECORDS: 3 })
    expectAccepted(t, await bulkUsers(app, { users: users(3) }), { totalRows: 3, fileSize: 62 })
    expectErrors(t, await bulkUsers(app, { users: users(4) }), 413, [tooManyRecords(3, 4)])
  })

  t.test('MOCK_BODY_LIMIT: exactly the limit passes, one byte more is 413', async (t) => {
    const { app } = await testApp(t, { MOCK_BODY_LIMIT: 1024 })
    const accepted = expectAccepted(t, await bulkUsers(app, paddedBody(1024)), { totalRows: 1, fileSize: 1024 })
    expectErrors(t, await bulkUsers(app, paddedBody(1025)), 413, [BODY_TOO_LARGE_1024])
    expectJobList(t, await listJobs(app), [jobView(accepted, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
  })
})

t.test('order of checks: 401 → 415 → 413 bytes → 400 malformed → 413 records → 400 validation → 202', async (t) => {
  t.test('401 before 415: a wrong key with a wrong content type', async (t) => {
    const { app } = await testApp(t, { MOCK_API_KEYS: 'the-key' })
    const res = await bulkUsers(app, 'not json', { authorization: 'Token wrong-key', 'content-type': 'text/plain' })
    expectErrors(t, res, 401, [{
      error: 'unauthorized',
      error_code: 'invalid_api_key',
      message: 'The API key is not one this mock accepts (MOCK_API_KEYS). Expected the header "Authorization: Token <API_KEY>".',
      details: 'header authorization'
    }])
    const missing = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers: { 'content-type': 'text/plain' }, payload: 'x'.repeat(5000) })
    expectErrors(t, missing, 401, [{
      error: 'unauthorized',
      error_code: 'missing_authorization',
      message: 'The Authorization header is missing. Expected the header "Authorization: Token <API_KEY>".',
      details: 'header authorization'
    }])
  })

  t.test('415 before 413 bytes: a wrong content type over the byte limit', async (t) => {
    const { app } = await testApp(t, { MOCK_BODY_LIMIT: 1024 })
    const res = await bulkUsers(app, paddedBody(4096), { ...auth(), 'content-type': 'text/plain' })
    expectErrors(t, res, 415, [unsupported('"text/plain"')])
  })

  t.test('413 bytes before 400 malformed: malformed JSON over the byte limit', async (t) => {
    const { app } = await testApp(t, { MOCK_BODY_LIMIT: 1024 })
    expectErrors(t, await bulkUsers(app, '{"users": [' + ' '.repeat(2000)), 413, [BODY_TOO_LARGE_1024])
  })

  t.test('400 malformed before 413 records: 10,001 users in broken JSON', async (t) => {
    const { app } = await testApp(t)
    const payload = JSON.stringify({ users: users(10_001) }).slice(0, -1)
    const message = parseMessage(payload)
    t.ok(message.length <= 120, 'precondition: the parser message is quoted whole')
    expectErrors(t, await bulkUsers(app, payload), 400, [invalid('malformed_json', 'The request body is not valid JSON.', JSON.stringify(message))])
  })

  t.test('413 records before 400 validation: 10,001 invalid users', async (t) => {
    const { app } = await testApp(t)
    expectErrors(t, await bulkUsers(app, { users: users(10_001, (i) => ({ user_id: i })) }), 413, [tooManyRecords(10_000, 10_001)])
  })

  t.test('400 validation before 202: 10,000 users, one invalid', async (t) => {
    const { app } = await testApp(t)
    const res = await bulkUsers(app, { users: users(10_000, (i) => ({ user_id: i === 9_999 ? '' : `u${i}` })) })
    expectErrors(t, res, 400, [invalid('empty_user_id', 'users[9999].user_id is empty: it must be a non-empty string.', '/users/9999/user_id')])
    expectJobList(t, await listJobs(app), [])
  })
})

t.test('store effects after the job completes', async (t) => {
  t.test('merge, null removes, company move, later rows win', async (t) => {
    const { app, clock } = await testApp(t)
    const tenant = tenantOf(KEY).id
    const firstPayload = JSON.stringify({ users: [{ user_id: 'u1', company_id: 'c1', metadata: { plan: 'free', seats: 3, trial: true, note: 'x' } }] })
    const first = expectAccepted(t, await bulkUsers(app, firstPayload), { totalRows: 1, fileSize: Buffer.byteLength(firstPayload) })
    t.equal(await app.mock.store.profiles.getUser(tenant, 'u1'), undefined, 'nothing is applied while queued')
    await clock.advance(800)
    const u1 = await app.mock.store.profiles.getUser(tenant, 'u1')
    t.match(u1, { userId: 'u1', companyId: 'c1', lastTouch: { kind: 'job', id: first.job_id }, deletionScheduledAt: null })
    t.same({ ...u1?.metadata }, { plan: 'free', seats: 3, trial: true, note: 'x' })

    const secondPayload = JSON.stringify({
      users: [
        { user_id: 'u1', metadata: { plan: 'pro', note: null } },
        { user_id: 'u2', metadata: { a: 1 } },
        { user_id: 'u1', company_id: 'c2', metadata: { plan: 'enterprise', seats: 10 } }
      ]
    })
    const second = expectAccepted(t, await bulkUsers(app, secondPayload), { totalRows: 3, fileSize: Buffer.byteLength(secondPayload), at: CLOCK_START + 800 })
    await clock.advance(800)
    const moved = await app.mock.store.profiles.getUser(tenant, 'u1')
    t.same({ ...moved?.metadata }, { plan: 'enterprise', seats: 10, trial: true }, 'merged; null removed note; the later row won')
    t.match(moved, { userId: 'u1', companyId: 'c2', lastTouch: { kind: 'job', id: second.job_id }, deletionScheduledAt: null }, 'moved to c2')
    t.ok((moved?.createdAt ?? 0) <= (moved?.updatedAt ?? -1), 'created before updated')
    t.ok((moved?.updatedAt ?? 0) > CLOCK_START + 800 && (moved?.updatedAt ?? 0) <= CLOCK_START + 1600, 'updated during the second job')
    const u2 = await app.mock.store.profiles.getUser(tenant, 'u2')
    t.match(u2, { userId: 'u2', companyId: null, lastTouch: { kind: 'job', id: second.job_id }, deletionScheduledAt: null })
    t.same({ ...u2?.metadata }, { a: 1 })
    t.equal(await app.mock.store.profiles.getUser(tenantOf('another-key').id, 'u1'), undefined, 'other keys see nothing')
  })

  t.test('__proto__ and constructor are ordinary metadata keys; Object.prototype is untouched', async (t) => {
    const { app, clock } = await testApp(t)
    const payload = '{"users":[{"user_id":"p1","metadata":{"__proto__":"polluted","constructor":"ctor","toString":"str"}}]}'
    expectAccepted(t, await bulkUsers(app, payload), { totalRows: 1, fileSize: Buffer.byteLength(payload) })
    expectErrors(t, await bulkUsers(app, '{"users":[{"user_id":"p2","metadata":{"__proto__":{"polluted":true}}}]}'), 400, [invalid(
      'invalid_metadata_value',
      'users[0].metadata["__proto__"] is not accepted. Expected: A string, number, boolean, or null to remove the property. Arrays and objects are rejected.',
      '/users/0/metadata/__proto__'
    )])
    await clock.advance(800)
    const stored = await app.mock.store.profiles.getUser(tenantOf(KEY).id, 'p1')
    const metadata = stored?.metadata as Record<string, unknown>
    t.same(Object.keys(metadata), ['__proto__', 'constructor', 'toString'])
    t.same(Object.entries(metadata), [['__proto__', 'polluted'], ['constructor', 'ctor'], ['toString', 'str']])
    const plain: Record<string, unknown> = {}
    t.equal(plain.polluted, undefined, 'no property leaked onto objects')
    t.equal(Object.getPrototypeOf(plain), Object.prototype)
    t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
    t.equal(typeof plain.toString, 'function')
    t.equal(plain.constructor, Object)
  })
})
