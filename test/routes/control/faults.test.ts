import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Fault, FaultInput, FaultsAdded, MockJob } from '../../../schemas/control.js'
import type { ErrorEntry } from '../../../schemas/errors.js'
import { BackgroundJobList } from '../../../schemas/jobs.js'
import { FAULT_BODY_LIMIT, MAX_FAULT_BODY_DEPTH, nestsDeeperThan } from '../../../src/routes/control/faults.js'
import { tenantOf } from '../../../src/tenant.js'
import { KEY, assertSchema, auth, bulkUsers, testApp, users } from '../../helpers/app.js'
import { CACHE_CONTROL, GENERATED_ID, JSON_UTF8, control, expectErrors, expectOk, invalid } from '../../helpers/http.js'

const OTHER = 'test-key-2'
const FaultList = Type.Array(Fault)
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Queues one fault rule for `key` and asserts the 201 in full; returns the rule. */
async function addFault (t: Test, app: FastifyInstance, input: Record<string, unknown>, expected: Partial<Fault> = {}, key = KEY): Promise<Fault> {
  const body = expectOk<{ faults: Fault[] }>(t, await control(app, 'POST', '/faults', { key, payload: input }), FaultsAdded, 201)
  const [rule] = body.faults
  t.equal(body.faults.length, 1, 'one rule added')
  t.match(rule?.id, UUID, 'the rule has a uuid')
  t.same(rule, {
    id: rule?.id,
    key_id: tenantOf(key).envId,
    match: { method: null, path: null },
    times_left: 1,
    status: null,
    delay_ms: 0,
    body: null,
    headers: {},
    drop_connection: false,
    ...expected
  }, 'the whole rule')
  return rule as Fault
}

function listJobs (app: FastifyInstance, key = KEY, path = '/v1/background_jobs'): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: path, headers: auth(key) })
}

/** The envelope a fault sends by default. */
function injected (error: string, rule: Fault, request: string): ErrorEntry[] {
  return [{ error, error_code: 'injected_fault', message: `Fault injected by the mock (rule ${rule.id}).`, details: request }]
}

/** Asserts a faulted answer with the default envelope and the standard headers. */
function expectInjected (t: Test, res: LightMyRequestResponse, status: number, error: string, rule: Fault, request: string, retryAfter?: string): void {
  expectErrors(t, res, status, injected(error, rule, request))
  t.equal(res.headers['retry-after'], retryAfter, retryAfter === undefined ? 'no retry-after' : `retry-after: ${retryAfter}`)
}

function expectNormalList (t: Test, res: LightMyRequestResponse): void {
  t.equal(res.statusCode, 200, 'a normal answer')
  assertSchema(t, BackgroundJobList, res.json())
}

t.test('POST /__mock/faults', async (t) => {
  t.test('201 with the rule as stored: defaults filled in, the method upper-cased', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 503 }, { status: 503 })
    await addFault(t, app, {
      match: { method: 'post', path: '/v1/users/bulk_identify' },
      times: 3,
      status: 429,
      delay_ms: 5,
      body: { custom: [1, 'two', null] },
      headers: { 'X-Custom': 'yes' }
    }, {
      match: { method: 'POST', path: '/v1/users/bulk_identify' },
      times_left: 3,
      status: 429,
      delay_ms: 5,
      body: { custom: [1, 'two', null] },
      headers: { 'X-Custom': 'yes' }
    })
    await addFault(t, app, { match: { path: '/v1/*' }, drop_connection: true }, { match: { method: null, path: '/v1/*' }, drop_connection: true })
  })

  t.test('?all=1: 400 key_required, with a key or without', async (t) => {
    const { app } = await testApp(t)
    const entry = invalid('key_required', 'Faults belong to one API key: send its "Authorization: Token <key>" instead of ?all=1.', 'query all')
    expectErrors(t, await control(app, 'POST', '/faults?all=1', { key: null, payload: { status: 503 } }), 400, [entry])
    expectErrors(t, await control(app, 'POST', '/faults?all=1', { payload: { status: 503 } }), 400, [entry])
    t.same(expectOk(t, await control(app, 'GET', '/faults?all=1', { key: null }), FaultList), [], 'nothing was queued')
  })

  t.test('an invalid rule: 400 invalid_body', async (t) => {
    const { app } = await testApp(t)
    const field = (path: string, message: string): ErrorEntry => invalid('invalid_body', `Body field ${path}: ${message}.`, `body${path}`)
    const cases: Array<[string, unknown, ErrorEntry[]]> = [
      ['status 700', { status: 700 }, [field('/status', 'Expected integer to be less or equal to 599')]],
      ['status 199', { status: 199 }, [field('/status', 'Expected integer to be greater or equal to 200')]],
      ['an unknown field', { status: 503, foo: 1 }, [field('/foo', 'Unexpected property')]],
      ['both', { status: 700, foo: 1 }, [field('/foo', 'Unexpected property'), field('/status', 'Expected integer to be less or equal to 599')]],
      ['times 0', { times: 0 }, [field('/times', 'Expected integer to be greater or equal to 1')]],
      ['times 1.5', { times: 1.5 }, [field('/times', 'Expected integer')]],
      ['delay_ms over a minute', { delay_ms: 60_001 }, [field('/delay_ms', 'Expected integer to be less or equal to 60000')]],
      ['a method that is not a word', { match: { method: '1' } }, [field('/match/method', "Expected string to match '^[A-Za-z]{1,10}$'")]],
      ['a path without a leading slash', { match: { path: 'v1' } }, [field('/match/path', "Expected string to match '^/'")]],
      ['an unknown match field', { match: { query: 'x' } }, [field('/match/query', 'Unexpected property')]],
      ['a header value that is not a string', { headers: { 'x-a': 1 } }, [field('/headers/x-a', 'Expected string')]],
      ['drop_connection not a boolean', { drop_connection: 'yes' }, [field('/drop_connection', 'Expected boolean')]],
      ['an array', [], [invalid('invalid_body', 'The body: Expected object.', 'body')]],
      ['null', null, [invalid('invalid_body', 'The body: Expected object.', 'body')]]
    ]
    for (const [name, payload, errors] of cases) {
      t.test(name, async (t) => {
        expectErrors(t, await control(app, 'POST', '/faults', { payload }), 400, errors)
      })
    }
    t.test('no body', async (t) => {
      expectErrors(t, await control(app, 'POST', '/faults'), 400, [invalid('invalid_body', 'The body: Expected object.', 'body')])
    })
    t.test('nothing was queued', async (t) => {
      t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [])
    })
  })

  t.test('header names that are not HTTP tokens and values HTTP cannot carry: 400 invalid_body', async (t) => {
    const { app } = await testApp(t)
    const valuePattern = (Object.values((FaultInput.properties.headers as unknown as { patternProperties: Record<string, { pattern: string }> }).patternProperties)[0] as { pattern: string }).pattern
    const badValue = invalid('invalid_body', `Body field /headers/x-a: Expected string to match '${valuePattern}'.`, 'body/headers/x-a')
    const cases: Array<[string, Record<string, string>, ErrorEntry]> = [
      ['a name with a space', { 'bad name': 'x' }, invalid('invalid_body', 'Body field /headers/bad name: Unexpected property.', 'body/headers/bad name')],
      ['a name with a colon', { 'x:y': 'x' }, invalid('invalid_body', 'Body field /headers/x:y: Unexpected property.', 'body/headers/x:y')],
      ['a value with CR LF', { 'x-a': 'a\r\nb' }, badValue],
      ['a value with LF', { 'x-a': 'a\nb' }, badValue],
      ['a value with NUL', { 'x-a': 'a\u0000b' }, badValue],
      ['a value with U+0001', { 'x-a': 'a\u0001b' }, badValue],
      ['a value with DEL', { 'x-a': 'a\u007fb' }, badValue],
      ['a value with €', { 'x-a': 'price €' }, badValue]
    ]
    for (const [name, headers, error] of cases) {
      t.test(name, async (t) => {
        expectErrors(t, await control(app, 'POST', '/faults', { payload: { status: 503, headers } }), 400, [error])
        t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [], 'nothing queued')
      })
    }
    t.test('a tab and printable text are fine', async (t) => {
      await addFault(t, app, { status: 503, headers: { 'x-a': 'tab\there ~!' } }, { status: 503, headers: { 'x-a': 'tab\there ~!' } })
      const res = await listJobs(app)
      t.equal(res.statusCode, 503)
      t.equal(res.headers['x-a'], 'tab\there ~!')
    })
  })

  t.test('more than 100 faults queued for a key: 409 too_many_faults; the other keys are not affected', async (t) => {
    const { app } = await testApp(t)
    const statuses: number[] = []
    for (let i = 0; i < 100; i++) {
      statuses.push((await control(app, 'POST', '/faults', { payload: { status: 503, match: { path: `/v1/x${i}` } } })).statusCode)
    }
    t.same(statuses, Array(100).fill(201), '100 fit')
    expectErrors(t, await control(app, 'POST', '/faults', { payload: { status: 503 } }), 409, [{
      error: 'conflict',
      error_code: 'too_many_faults',
      message: 'A key holds at most 100 queued faults; clear some with DELETE /__mock/faults.',
      details: 'limit 100'
    }])
    t.equal(expectOk<Fault[]>(t, await control(app, 'GET', '/faults'), FaultList).length, 100)
    await addFault(t, app, { status: 500 }, { status: 500, key_id: tenantOf(OTHER).envId }, OTHER)
    t.equal((await control(app, 'DELETE', '/faults')).statusCode, 204)
    await addFault(t, app, { status: 503 }, { status: 503 })
  })
})

t.test('applying faults', async (t) => {
  t.test('the next `times` matching calls get the fault, then normal answers', async (t) => {
    const { app } = await testApp(t)
    const rule = await addFault(t, app, { match: { method: 'GET', path: '/v1/background_jobs' }, times: 2, status: 503 }, { match: { method: 'GET', path: '/v1/background_jobs' }, times_left: 2, status: 503 })
    expectInjected(t, await listJobs(app), 503, 'service_unavailable', rule, 'GET /v1/background_jobs', '1')
    t.same(expectOk<Fault[]>(t, await control(app, 'GET', '/faults'), FaultList).map((fault) => fault.times_left), [1], 'one use left')
    expectInjected(t, await listJobs(app, KEY, '/v1/background_jobs?limit=5'), 503, 'service_unavailable', rule, 'GET /v1/background_jobs?limit=5', '1')
    t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [], 'used up')
    expectNormalList(t, await listJobs(app))
  })

  t.test('Retry-After: 429 and 503 get 1 unless the rule gives one, in any case; other statuses get none', async (t) => {
    const { app } = await testApp(t)
    const cases: Array<[number, string, Record<string, string> | undefined, string | undefined]> = [
      [429, 'rate_limited', undefined, '1'],
      [503, 'service_unavailable', undefined, '1'],
      [429, 'rate_limited', { 'Retry-After': '30' }, '30'],
      [503, 'service_unavailable', { 'retry-after': 'Wed, 21 Oct 2025 07:28:00 GMT' }, 'Wed, 21 Oct 2025 07:28:00 GMT'],
      [500, 'internal_error', undefined, undefined],
      [502, 'bad_gateway', undefined, undefined],
      [400, 'invalid_request', undefined, undefined],
      [500, 'internal_error', { 'retry-after': '5' }, '5']
    ]
    for (const [status, error, headers, retryAfter] of cases) {
      const rule = await addFault(t, app, { status, ...(headers === undefined ? {} : { headers }) }, { status, headers: headers ?? {} })
      expectInjected(t, await listJobs(app), status, error, rule, 'GET /v1/background_jobs', retryAfter)
    }
  })

  t.test('a status without a label of its own gets its class\'s', async (t) => {
    const { app } = await testApp(t)
    for (const [status, error] of [[418, 'invalid_request'], [599, 'internal_error'], [504, 'gateway_timeout']] as const) {
      const rule = await addFault(t, app, { status }, { status })
      expectInjected(t, await listJobs(app), status, error, rule, 'GET /v1/background_jobs')
    }
  })

  t.test('the rule\'s headers are sent along', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 503, headers: { 'X-Upstream': 'down', 'x-other': '2' } }, { status: 503, headers: { 'X-Upstream': 'down', 'x-other': '2' } })
    const res = await listJobs(app)
    t.equal(res.statusCode, 503)
    t.equal(res.headers['x-upstream'], 'down')
    t.equal(res.headers['x-other'], '2')
    t.equal(res.headers['retry-after'], '1')
    t.equal(res.headers['cache-control'], CACHE_CONTROL)
    t.match(res.headers['x-request-id'], GENERATED_ID)
  })

  t.test('a custom body is sent as given, as JSON', async (t) => {
    const { app } = await testApp(t)
    const bodies: unknown[] = [{ message: 'custom', nested: { a: [1, 2] } }, [1, 'two'], 'plain text', 42, null, false]
    for (const body of bodies) {
      await addFault(t, app, { status: 500, body }, { status: 500, body })
      const res = await listJobs(app)
      t.equal(res.statusCode, 500)
      t.equal(res.headers['content-type'], JSON_UTF8)
      t.equal(res.body, JSON.stringify(body), `sent as given: ${JSON.stringify(body)}`)
    }
  })

  t.test('status 200 with a body: a fake success', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 200, body: [] }, { status: 200, body: [] })
    await bulkUsers(app, { users: users(1) })
    const res = await listJobs(app)
    t.equal(res.statusCode, 200)
    t.equal(res.body, '[]', 'the fake body, not the real list')
  })

  t.test('a faulted bulk request creates no job', async (t) => {
    const { app } = await testApp(t)
    const rule = await addFault(t, app, { match: { method: 'POST', path: '/v1/users/bulk_identify' }, status: 503 }, { match: { method: 'POST', path: '/v1/users/bulk_identify' }, status: 503 })
    expectInjected(t, await bulkUsers(app, { users: users(2) }), 503, 'service_unavailable', rule, 'POST /v1/users/bulk_identify', '1')
    t.same(expectOk(t, await control(app, 'GET', '/jobs'), Type.Array(MockJob)), [])
    t.equal((await bulkUsers(app, { users: users(2) })).statusCode, 202, 'the next one goes through')
  })

  t.test('matching: method, exact path, and a prefix with *', async (t) => {
    const { app } = await testApp(t)
    const job = await bulkUsers(app, { users: users(1) })
    const jobPath = `/v1/background_jobs/${job.json<{ job_id: string }>().job_id}`
    const prefix = await addFault(t, app, { match: { path: '/v1/background_jobs/*' }, status: 502 }, { match: { method: null, path: '/v1/background_jobs/*' }, status: 502 })
    expectNormalList(t, await listJobs(app))
    t.equal((await bulkUsers(app, { users: users(1) })).statusCode, 409, 'POST /v1/users/bulk_identify is not matched (409: the first job still runs)')
    expectInjected(t, await listJobs(app, KEY, jobPath), 502, 'bad_gateway', prefix, `GET ${jobPath}`)

    const post = await addFault(t, app, { match: { method: 'POST' }, status: 500 }, { match: { method: 'POST', path: null }, status: 500 })
    expectNormalList(t, await listJobs(app))
    t.equal((await listJobs(app, KEY, jobPath)).statusCode, 200)
    expectInjected(t, await bulkUsers(app, { users: users(1) }), 500, 'internal_error', post, 'POST /v1/users/bulk_identify')
  })

  t.test('rules apply in the order they were queued, each to what it matches', async (t) => {
    const { app } = await testApp(t)
    const first = await addFault(t, app, { match: { method: 'POST' }, status: 500 }, { match: { method: 'POST', path: null }, status: 500 })
    const second = await addFault(t, app, { status: 502 }, { status: 502 })
    const third = await addFault(t, app, { status: 504 }, { status: 504 })
    expectInjected(t, await listJobs(app), 502, 'bad_gateway', second, 'GET /v1/background_jobs')
    expectInjected(t, await bulkUsers(app, { users: users(1) }), 500, 'internal_error', first, 'POST /v1/users/bulk_identify')
    expectInjected(t, await bulkUsers(app, { users: users(1) }), 504, 'gateway_timeout', third, 'POST /v1/users/bulk_identify')
    t.equal((await bulkUsers(app, { users: users(1) })).statusCode, 202)
  })

  t.test('another key is not affected', async (t) => {
    const { app } = await testApp(t)
    const rule = await addFault(t, app, { status: 503 }, { status: 503 })
    expectNormalList(t, await listJobs(app, OTHER))
    expectInjected(t, await listJobs(app), 503, 'service_unavailable', rule, 'GET /v1/background_jobs', '1')
  })

  t.test('a request refused for its key does not use up a fault', async (t) => {
    const { app } = await testApp(t, { MOCK_API_KEYS: KEY })
    const rule = await addFault(t, app, { status: 503 }, { status: 503 })
    t.equal((await listJobs(app, 'not-a-key')).statusCode, 401)
    t.equal((await app.inject({ method: 'GET', url: '/v1/background_jobs' })).statusCode, 401)
    expectInjected(t, await listJobs(app), 503, 'service_unavailable', rule, 'GET /v1/background_jobs', '1')
  })

  t.test('control calls are never faulted', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 503 }, { status: 503 })
    t.same(expectOk<Fault[]>(t, await control(app, 'GET', '/faults'), FaultList).map((fault) => fault.times_left), [1])
    t.same(expectOk(t, await control(app, 'GET', '/users'), Type.Array(Type.Unknown())), [])
    t.equal((await app.inject({ method: 'GET', url: '/__mock/health' })).statusCode, 200)
    t.same(expectOk<Fault[]>(t, await control(app, 'GET', '/faults'), FaultList).map((fault) => fault.times_left), [1], 'still there')
  })

  t.test('a delay-only fault answers normally after the delay; other requests are not held up', async (t) => {
    const { app } = await testApp(t)
    await bulkUsers(app, { users: users(1) })
    const rule = await addFault(t, app, { match: { path: '/v1/background_jobs' }, delay_ms: 20 }, { match: { method: null, path: '/v1/background_jobs' }, delay_ms: 20 })
    const order: string[] = []
    const delayed = listJobs(app).then((res) => { order.push('delayed'); return res })
    const other = app.inject({ method: 'GET', url: '/__mock/health' }).then((res) => { order.push('health'); return res })
    const another = listJobs(app, OTHER).then((res) => { order.push('other key'); return res })
    const [slow, fast, otherKey] = await Promise.all([delayed, other, another])
    t.same(order.slice(-1), ['delayed'], 'the delayed request is answered last')
    t.equal(fast.statusCode, 200)
    t.equal(otherKey.statusCode, 200)
    t.equal(slow.statusCode, 200, 'then a normal answer')
    const list = slow.json<Array<{ job_id: string }>>()
    t.equal(list.length, 1, 'the real list')
    t.match(slow.headers['x-request-id'], GENERATED_ID)
    t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [], `rule ${rule.id} used up`)
  })

  t.test('a delay with a status: the status after the delay', async (t) => {
    const { app } = await testApp(t)
    const rule = await addFault(t, app, { delay_ms: 10, status: 504 }, { delay_ms: 10, status: 504 })
    const order: string[] = []
    const [slow] = await Promise.all([
      listJobs(app).then((res) => { order.push('delayed'); return res }),
      app.inject({ method: 'GET', url: '/__mock/health' }).then((res) => { order.push('health'); return res })
    ])
    t.same(order, ['health', 'delayed'])
    expectInjected(t, slow, 504, 'gateway_timeout', rule, 'GET /v1/background_jobs')
  })

  t.test('drop_connection closes the socket without an answer', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { match: { path: '/v1/background_jobs' }, drop_connection: true }, { match: { method: null, path: '/v1/background_jobs' }, drop_connection: true })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as { port: number }
    const url = `http://127.0.0.1:${port}/v1/background_jobs`
    await t.rejects(fetch(url, { headers: auth() }), { message: 'fetch failed' }, 'no answer at all')
    const res = await fetch(url, { headers: auth() })
    t.equal(res.status, 200, 'the next call is answered')
    t.same(await res.json(), [])
    const other = await fetch(url, { headers: auth(OTHER) })
    t.equal(other.status, 200)
    await other.arrayBuffer()
    const journal = (await control(app, 'GET', '/requests')).json<Array<{ status: number, path: string }>>()
    t.same(journal.map((entry) => [entry.path, entry.status]), [['/v1/background_jobs', 200], ['/v1/background_jobs', 0]], 'the dropped call is journaled once, with status 0')
  })
})

t.test('GET /__mock/faults', async (t) => {
  t.test('this key\'s rules in the order they apply; ?all=1 every key\'s', async (t) => {
    const { app } = await testApp(t)
    const a = await addFault(t, app, { status: 503, times: 2 }, { status: 503, times_left: 2 })
    const b = await addFault(t, app, { match: { method: 'delete' }, status: 500 }, { match: { method: 'DELETE', path: null }, status: 500 })
    const c = await addFault(t, app, { status: 429 }, { status: 429, key_id: tenantOf(OTHER).envId }, OTHER)
    t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [a, b])
    t.same(expectOk(t, await control(app, 'GET', '/faults', { key: OTHER }), FaultList), [c])
    t.same(expectOk(t, await control(app, 'GET', '/faults?all=1', { key: null }), FaultList), [a, b, c])
    await listJobs(app)
    t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [{ ...a, times_left: 1 }, b], 'times_left counts down')
  })
})

t.test('DELETE /__mock/faults', async (t) => {
  t.test('204, and this key\'s list is empty; other keys keep theirs', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 503 }, { status: 503 })
    const theirs = await addFault(t, app, { status: 503 }, { status: 503, key_id: tenantOf(OTHER).envId }, OTHER)
    const res = await control(app, 'DELETE', '/faults')
    t.equal(res.statusCode, 204)
    t.equal(res.body, '')
    t.same(expectOk(t, await control(app, 'GET', '/faults'), FaultList), [])
    t.same(expectOk(t, await control(app, 'GET', '/faults?all=1', { key: null }), FaultList), [theirs])
    expectNormalList(t, await listJobs(app))
  })

  t.test('?all=1 clears every key\'s', async (t) => {
    const { app } = await testApp(t)
    await addFault(t, app, { status: 503 }, { status: 503 })
    await addFault(t, app, { status: 503 }, { status: 503, key_id: tenantOf(OTHER).envId }, OTHER)
    t.equal((await control(app, 'DELETE', '/faults?all=1', { key: null })).statusCode, 204)
    t.same(expectOk(t, await control(app, 'GET', '/faults?all=1', { key: null }), FaultList), [])
  })

  t.test('nothing queued: 204 all the same', async (t) => {
    const { app } = await testApp(t)
    t.equal((await control(app, 'DELETE', '/faults')).statusCode, 204)
    t.equal((await control(app, 'DELETE', '/faults?all=1', { key: null })).statusCode, 204)
  })
})

t.test(`a fault body nests at most ${MAX_FAULT_BODY_DEPTH} arrays or objects deep`, async (t) => {
  const { app } = await testApp(t)
  const nested = (depth: number, inner: unknown = 1): unknown => depth === 0 ? inner : (depth % 2 === 0 ? { a: nested(depth - 1, inner) } : [nested(depth - 1, inner)])
  await addFault(t, app, { status: 500, body: nested(MAX_FAULT_BODY_DEPTH) }, { status: 500, body: nested(MAX_FAULT_BODY_DEPTH) as Fault['body'] })
  for (const body of [nested(MAX_FAULT_BODY_DEPTH + 1), nested(2000, {}), [1, { a: nested(MAX_FAULT_BODY_DEPTH) }]]) {
    expectErrors(t, await control(app, 'POST', '/faults', { payload: { status: 500, body } }), 400, [
      invalid('fault_body_too_deep', `A fault's body nests at most ${MAX_FAULT_BODY_DEPTH} arrays or objects deep; send a flatter body.`, 'body/body')
    ])
  }
  t.same((await control(app, 'GET', '/faults')).json<Fault[]>().length, 1, 'only the shallow rule was queued')
})

t.test('nestsDeeperThan counts containers, not values', async (t) => {
  t.equal(nestsDeeperThan(1, 0), false)
  t.equal(nestsDeeperThan({}, 0), true)
  t.equal(nestsDeeperThan({}, 1), false)
  t.equal(nestsDeeperThan({ a: [1, 'x', null] }, 2), false)
  t.equal(nestsDeeperThan({ a: [1, { b: null }] }, 2), true)
  t.equal(nestsDeeperThan(Array.from({ length: 100_000 }, () => ({})), 1), true, 'wide levels are fine')
})

t.test(`a fault rule takes at most ${FAULT_BODY_LIMIT} bytes and 50 headers`, async (t) => {
  const { app } = await testApp(t)
  const big = { status: 500, body: 'x'.repeat(FAULT_BODY_LIMIT) }
  expectErrors(t, await control(app, 'POST', '/faults', { payload: big }), 413, [{
    error: 'payload_too_large',
    error_code: 'body_too_large',
    message: `The request body is larger than ${FAULT_BODY_LIMIT} bytes, the most this route takes.`,
    details: `limit ${FAULT_BODY_LIMIT} bytes`
  }])
  const headers = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-h${i}`, 'v']))
  await addFault(t, app, { status: 500, headers: headers(50) }, { status: 500, headers: headers(50) })
  const res = await control(app, 'POST', '/faults', { payload: { status: 500, headers: headers(51) } })
  t.equal(res.statusCode, 400)
  t.same(res.json<{ errors: ErrorEntry[] }>().errors.map((entry) => entry.error_code), ['invalid_body'])
})
