import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { MockEvent } from '../../schemas/control.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, assertSchema, auth, bulkUsers, getJob, testApp } from '../helpers/app.js'
import { appBackends } from '../helpers/store.js'
import {
  BOUNDARY, CLOCK_START, assertStandardHeaders, control, expectErrors, expectJob, invalid, jobInProgress, jobView, multipartBody, type FormPart
} from '../helpers/http.js'

const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
const TIME = '2024-07-28 08:55:35.874555'
const EXPECTED = 'one CSV or NDJSON file in the form field "file"'

/** POST /v1/imports with any body. */
function postImport (app: FastifyInstance, payload: Buffer | string, contentType: string | null = MULTIPART, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/v1/imports', headers: { ...headers, ...(contentType === null ? {} : { 'content-type': contentType }) }, payload })
}

/** Uploads `content` as the file of the form field `file`. */
function upload (app: FastifyInstance, content: string | Buffer, filename = 'rows.csv', options: { contentType?: string, headers?: Record<string, string> } = {}): Promise<LightMyRequestResponse> {
  const part: FormPart = { name: 'file', filename, content, contentType: options.contentType ?? 'application/octet-stream' }
  return postImport(app, multipartBody([part]), MULTIPART, options.headers ?? auth())
}

interface ExpectedImport { totalRows: number, fileSize: number, filename?: string, key?: string }

/** Asserts a 200 import job: status, headers, the schema and every field; returns the body. */
function expectImport (t: Test, res: LightMyRequestResponse, expected: ExpectedImport): JobAccepted {
  t.equal(res.statusCode, 200, 'status 200')
  assertStandardHeaders(t, res)
  const body = res.json() as JobAccepted
  assertSchema(t, JobAccepted, body, 'a JobAccepted')
  const envId = tenantOf(expected.key ?? KEY).envId
  const uuid = new RegExp(`^import:jobs:${envId}:(${UUID})$`).exec(body.job_id)?.[1] ?? 'no-uuid'
  t.not(uuid, 'no-uuid', `job_id is import:jobs:${envId}:<uuid>`)
  const jobId = `import:jobs:${envId}:${uuid}`
  const at = new Date(CLOCK_START).toISOString()
  t.same(body, {
    job_id: jobId,
    status: 'queued',
    total_rows: expected.totalRows,
    file_size: expected.fileSize,
    filename: expected.filename ?? `import_${uuid}.json`,
    type: 'import',
    links: `http://localhost:80/v1/background_jobs/${jobId}`,
    start_time: at,
    submitted_at: at,
    end_time: null
  }, 'the whole 200 body')
  return body
}

function csv (...rows: string[]): string {
  return rows.map((row) => row + '\n').join('')
}

const HEADER = 'event_type,user_id,company_id,event_name,source,inserted_at,metadata.plan'
const ONE_ROW = csv(HEADER, `identify_user,u1,,,backend-http,${TIME},pro`)

/** POST /__mock/clock/flush: every job runs to its end. */
async function flush (t: Test, app: FastifyInstance, key = KEY): Promise<void> {
  const res = await control(app, 'POST', '/clock/flush', { key })
  t.equal(res.statusCode, 200, 'flushed')
}

const unsupported = (contentType: string) => ({
  error: 'unsupported_media_type',
  error_code: 'unsupported_content_type',
  message: `Send ${EXPECTED}, as Content-Type: multipart/form-data.`,
  details: `content-type ${contentType}`
})

t.test('200: a CSV file becomes an import job; its name and size are the file\'s', async (t) => {
  const { app } = await testApp(t)
  const accepted = expectImport(t, await upload(app, ONE_ROW, 'history-2024.csv'), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'history-2024.csv' })
  expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
  const list = await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })
  t.same(list.json(), [jobView(accepted, { status: 'queued', completed_rows: 0, elapsed_time: 0 })], 'in the job list')
})

t.test('200: an NDJSON file, a FormData upload, a file without a name', async (t) => {
  const { app } = await testApp(t)
  const ndjson = `${JSON.stringify({ event_type: 'track', user_id: 'u1', event_name: 'Clicked', source: 'backend-http', inserted_at: '2024-07-28T08:55:35Z' })}\n`
  const first = expectImport(t, await upload(app, ndjson, 'events.jsonl'), { totalRows: 1, fileSize: Buffer.byteLength(ndjson), filename: 'events.jsonl' })
  await flush(t, app)
  const form = new FormData()
  form.append('file', new Blob([ONE_ROW], { type: 'text/csv' }), 'from-a-browser')
  expectImport(t, await app.inject({ method: 'POST', url: '/v1/imports', headers: auth(), payload: form }), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'from-a-browser' })
  await flush(t, app)
  const nameless = expectImport(t, await upload(app, ONE_ROW, ''), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW) })
  t.match(nameless.filename, /^import_[0-9a-f-]{36}\.json$/, 'a generated name')
  t.not(first.job_id, nameless.job_id)
})

for (const backend of appBackends()) {
  t.test(`${backend.name}: the job applies the rows: identify rows merge in file order, every row is an event with its own source and time`, { skip: backend.skip }, async (t) => {
    await appliesRows(t, (await backend.app(t, { MOCK_CLOCK: 'manual' })).app)
  })
  t.test(`${backend.name}: 409 import_in_progress while the key's import job runs; bulk jobs neither block it nor are blocked by it`, { skip: backend.skip }, async (t) => {
    await oneImportAtATime(t, (await backend.app(t, { MOCK_CLOCK: 'manual' })).app)
  })
}

async function appliesRows (t: Test, app: FastifyInstance): Promise<void> {
  const file = csv(
    'event_type,user_id,company_id,event_name,url,user_agent,source,inserted_at,metadata',
    'identify_company,,acme,,,,backend-salesforce,2024-07-01T00:00:00Z,"{""name"":""Acme""}"',
    'identify_user,u1,acme,,,,backend-hubspot,2024-07-02 10:00:00.000250,"{""plan"":""free"",""seats"":1}"',
    'identify_user,u1,,,,,backend-http-import,2024-07-03T12:00:00+02:00,"{""plan"":""pro"",""seats"":null}"',
    'track,u1,acme,Upgraded,,,backend-segment,2024-07-04T00:00:00Z,',
    'page_view,u1,acme,,https://app.example.com/billing,Mozilla/5.0,web-client,2024-07-05T00:00:00Z,'
  )
  const accepted = expectImport(t, await upload(app, file), { totalRows: 5, fileSize: Buffer.byteLength(file), filename: 'rows.csv' })
  await flush(t, app)
  const job = await getJob(app, accepted.job_id)
  t.match(job.json(), { job_id: accepted.job_id, status: 'completed', total_rows: 5, completed_rows: 5 }, 'the job completed')

  const userRes = await control(app, 'GET', '/users/u1')
  t.equal(userRes.statusCode, 200)
  t.match(userRes.json(), { user_id: 'u1', company_id: 'acme', metadata: { plan: 'pro' }, last_job_id: accepted.job_id }, 'merged in order; null removed seats')
  t.same(userRes.json<{ metadata: object }>().metadata, { plan: 'pro' })
  const companyRes = await control(app, 'GET', '/companies/acme')
  t.match(companyRes.json(), { company_id: 'acme', metadata: { name: 'Acme' } })

  const events = (await control(app, 'GET', '/events')).json<MockEvent[]>()
  const event = (fields: Pick<MockEvent, 'event_type' | 'event_name' | 'user_id' | 'company_id' | 'metadata' | 'source' | 'inserted_at' | 'hostname' | 'pathname' | 'user_agent'>): MockEvent =>
    ({ key_id: tenantOf(KEY).envId, ...fields, request_id: accepted.job_id })
  t.same(events, [
    event({ event_type: 'page_view', event_name: '', user_id: 'u1', company_id: 'acme', metadata: {}, source: 'web-client', inserted_at: '2024-07-05T00:00:00.000Z', hostname: 'app.example.com', pathname: '/billing', user_agent: 'Mozilla/5.0' }),
    event({ event_type: 'track', event_name: 'Upgraded', user_id: 'u1', company_id: 'acme', metadata: {}, source: 'backend-segment', inserted_at: '2024-07-04T00:00:00.000Z' }),
    event({ event_type: 'identify_user', event_name: '', user_id: 'u1', company_id: null, metadata: { plan: 'pro', seats: null }, source: 'backend-http-import', inserted_at: '2024-07-03T10:00:00.000Z' }),
    event({ event_type: 'identify_user', event_name: '', user_id: 'u1', company_id: 'acme', metadata: { plan: 'free', seats: 1 }, source: 'backend-hubspot', inserted_at: '2024-07-02T10:00:00.000250Z' }),
    event({ event_type: 'identify_company', event_name: '', user_id: null, company_id: 'acme', metadata: { name: 'Acme' }, source: 'backend-salesforce', inserted_at: '2024-07-01T00:00:00.000Z' })
  ], 'every row, newest first, each with its own source, inserted_at (microseconds too) and page fields')
  const [, , , second] = await app.mock.store.events.list(tenantOf(KEY).id, {}, { limit: 10, offset: 0 })
  t.equal(second?.micros, 250, 'the microseconds are kept on the event')
  const [pageView] = await app.mock.store.events.list(tenantOf(KEY).id, { eventType: 'page_view' }, { limit: 10, offset: 0 })
  t.match(pageView, { hostname: 'app.example.com', pathname: '/billing', userAgent: 'Mozilla/5.0' }, 'the page view keeps what the url and user_agent said')
}

async function oneImportAtATime (t: Test, app: FastifyInstance): Promise<void> {
  const first = expectImport(t, await upload(app, ONE_ROW), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv' })
  expectErrors(t, await upload(app, ONE_ROW), 409, [{
    error: 'conflict',
    error_code: 'import_in_progress',
    message: `Import job ${first.job_id} is still running for this API key, and one import runs at a time (bulk jobs do not count). Poll it until it is completed or failed, then send this file again.`,
    details: first.job_id
  }])
  const bulk = await bulkUsers(app, { users: [{ user_id: 'b1' }] })
  t.equal(bulk.statusCode, 202, 'a bulk job is accepted beside the running import')
  const bulkJobId = bulk.json<JobAccepted>().job_id
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'b2' }] }), 409, [jobInProgress(bulkJobId)])
  const other = expectImport(t, await upload(app, ONE_ROW, 'rows.csv', { headers: auth('other-key') }), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv', key: 'other-key' })
  t.not(other.job_id, first.job_id, 'another key imports at the same time')
  await flush(t, app)
  expectImport(t, await upload(app, ONE_ROW), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv' })
}

t.test('a running bulk job does not block an import', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  t.equal((await bulkUsers(app, { users: [{ user_id: 'b1' }] })).statusCode, 202)
  expectImport(t, await upload(app, ONE_ROW), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv' })
})

t.test('X-Mock-Job-Outcome makes the import fail at a stage; a bad value is a 400', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const headers = { ...auth(), 'x-mock-job-outcome': 'failed@processing' }
  const accepted = expectImport(t, await upload(app, ONE_ROW, 'rows.csv', { headers }), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv' })
  await flush(t, app)
  t.match((await getJob(app, accepted.job_id)).json(), { status: 'failed', completed_rows: 0 })
  t.equal((await control(app, 'GET', '/users/u1')).statusCode, 404, 'no row applied')
  expectErrors(t, await upload(app, ONE_ROW, 'rows.csv', { headers: { ...auth(), 'x-mock-job-outcome': 'explode' } }), 400, [invalid('invalid_outcome_header',
    'X-Mock-Job-Outcome takes "failed" or "failed@<stage>" with a stage of queued, validating, processing or pending_refresh.', 'x-mock-job-outcome "explode"')])
})

t.test('400: bad rows, each with its line and field, at most 100', async (t) => {
  const { app } = await testApp(t)
  const file = csv(
    HEADER,
    `identify_user,u1,,,backend-http,${TIME},pro`,
    '',
    `identify_user,,,,backend-http,${TIME},`,
    `track,u1,,,backend-http,${TIME},`,
    'identify_user,u1,,,backend-http,2024-07-28T25:00:00Z,',
    `page_view,u1,,,backend-http,${TIME},`,
    `nope,u1,,,backend-http,${TIME},`
  )
  expectErrors(t, await upload(app, file), 400, [
    invalid('missing_user_id', 'Line 4: user_id is required on an identify_user row.', 'line 4: /user_id'),
    invalid('missing_event_name', 'Line 5: event_name is required on a track row.', 'line 5: /event_name'),
    invalid('invalid_inserted_at', 'Line 6: inserted_at must be an ISO 8601 time such as 2024-07-28T08:55:35.874Z, or 2024-07-28 08:55:35.874555 (no zone: UTC); got "2024-07-28T25:00:00Z".', 'line 6: /inserted_at'),
    invalid('missing_hostname', 'Line 7: hostname is required on a page_view row (or a url, which stands for hostname and pathname).', 'line 7: /hostname'),
    invalid('missing_pathname', 'Line 7: pathname is required on a page_view row (or a url, which stands for hostname and pathname).', 'line 7: /pathname'),
    invalid('invalid_event_type', 'Line 8: event_type must be one of identify_user, identify_company, page_view, track; got "nope".', 'line 8: /event_type')
  ])
  const many = csv(HEADER, ...Array.from({ length: 120 }, () => `identify_user,,,,backend-http,${TIME},`))
  const res = await upload(app, many)
  t.equal(res.statusCode, 400)
  t.equal(res.json<{ errors: unknown[] }>().errors.length, 100, 'at most 100 entries')
  t.same((await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })).json(), [], 'no job was created')
})

t.test('400: the file\'s own problems', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await upload(app, csv('event_type,source,inserted_at,metadata,metadata.plan')), 400, [invalid('mixed_metadata_columns',
    'Line 1: the header row has both a metadata column (a JSON object) and metadata.<key> columns such as "metadata.plan": use one of the two forms in a file.', 'line 1: metadata, metadata.plan')])
  expectErrors(t, await upload(app, csv(HEADER, `identify_user,"u1,,,backend-http,${TIME},`)), 400, [invalid('malformed_csv',
    'Line 2 cannot be read as CSV: a quoted cell that starts in this row is never closed.', 'line 2')])
  expectErrors(t, await upload(app, '{"event_type":\n', 'rows.ndjson'), 400, [invalid('malformed_json', 'Line 1 is not valid JSON: "{\\"event_type\\":".', 'line 1')])
  for (const [content, name] of [['', 'rows.csv'], [csv(HEADER), 'rows.csv'], ['\n\n', 'rows.ndjson'], ['  \n', 'rows']] as const) {
    expectErrors(t, await upload(app, content, name), 400, [invalid('empty_file',
      'The uploaded file has no rows: send a CSV file with a header row and one row per line, or NDJSON with one JSON object per line.', 'file')])
  }
})

t.test('413: more rows than MOCK_IMPORT_MAX_ROWS, counted; a file over MOCK_BODY_LIMIT', async (t) => {
  const { app } = await testApp(t, { MOCK_IMPORT_MAX_ROWS: 3, MOCK_BODY_LIMIT: 4096 })
  const rows = Array.from({ length: 5 }, (_, i) => `identify_user,u${i},,,backend-http,${TIME},`)
  expectErrors(t, await upload(app, csv(HEADER, ...rows)), 413, [{
    error: 'payload_too_large', error_code: 'too_many_rows', message: 'An import file carries at most 3 rows (MOCK_IMPORT_MAX_ROWS); this one has 5. Split it into several files.', details: '5 rows'
  }])
  expectImport(t, await upload(app, csv(HEADER, ...rows.slice(0, 3))), { totalRows: 3, fileSize: Buffer.byteLength(csv(HEADER, ...rows.slice(0, 3))), filename: 'rows.csv' })
  const { app: small } = await testApp(t, { MOCK_BODY_LIMIT: 4096 })
  const big = csv(HEADER, ...Array.from({ length: 100 }, (_, i) => `identify_user,u${i},,,backend-http,${TIME},`))
  t.ok(Buffer.byteLength(big) > 4096, 'precondition: the file is over the limit')
  expectErrors(t, await upload(small, big), 413, [{
    error: 'payload_too_large', error_code: 'file_too_large', message: 'The uploaded file is larger than 4096 bytes (MOCK_BODY_LIMIT; the documented limit is 50 MB). Split the rows into several files.', details: 'limit 4096 bytes'
  }])
  const cut = `${'{"event_type":"identify_user","user_id":"u1","source":"backend-http","inserted_at":"2024-07-28T08:55:35Z"}\n'.repeat(39)}{"event_type":"ident`
  t.ok(Buffer.byteLength(cut) > 4096)
  expectErrors(t, await upload(small, cut, 'rows.ndjson'), 413, [{
    error: 'payload_too_large', error_code: 'file_too_large', message: 'The uploaded file is larger than 4096 bytes (MOCK_BODY_LIMIT; the documented limit is 50 MB). Split the rows into several files.', details: 'limit 4096 bytes'
  }])
  const line = (pad: number) => `${JSON.stringify({ event_type: 'identify_user', user_id: 'u'.repeat(pad), source: 'backend-http', inserted_at: '2024-07-28T08:55:35Z' })}\n`
  const even = line(1 + 128 - Buffer.byteLength(line(1))).repeat(40)
  t.equal(Buffer.byteLength(even.slice(0, 4096)) % 128, 0, 'precondition: a row ends exactly at the limit')
  expectErrors(t, await upload(small, even, 'rows.ndjson'), 413, [{
    error: 'payload_too_large', error_code: 'file_too_large', message: 'The uploaded file is larger than 4096 bytes (MOCK_BODY_LIMIT; the documented limit is 50 MB). Split the rows into several files.', details: 'limit 4096 bytes'
  }])
})

t.test('415: anything but multipart/form-data, before the body is read', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await postImport(app, '{"rows":[]}', 'application/json'), 415, [unsupported('"application/json"')])
  expectErrors(t, await postImport(app, ONE_ROW, 'text/csv'), 415, [unsupported('"text/csv"')])
  expectErrors(t, await postImport(app, ONE_ROW, null), 415, [unsupported('"(none)"')])
  expectErrors(t, await app.inject({ method: 'POST', url: '/v1/imports', headers: auth() }), 415, [unsupported('"(none)"')])
})

t.test('400: the multipart body is not one file in the field "file"', async (t) => {
  const { app } = await testApp(t)
  expectErrors(t, await postImport(app, multipartBody([{ name: 'note', content: 'hello' }])), 400,
    [invalid('invalid_upload_field', `Send exactly ${EXPECTED}; got a field named "note".`, 'field "note"')])
  expectErrors(t, await postImport(app, multipartBody([{ name: 'upload', filename: 'rows.csv', content: ONE_ROW }])), 400,
    [invalid('invalid_upload_field', `Send exactly ${EXPECTED}; got a file named "upload".`, 'field "upload"')])
  expectErrors(t, await postImport(app, multipartBody([{ name: 'file', filename: 'rows.csv', content: ONE_ROW }, { name: 'note', content: 'x' }])), 400,
    [invalid('invalid_upload_field', `Send exactly ${EXPECTED}; got a field named "note" after the file.`, 'field "note"')])
  expectErrors(t, await postImport(app, multipartBody([{ name: 'file', filename: 'a.csv', content: ONE_ROW }, { name: 'file', filename: 'b.csv', content: ONE_ROW }])), 400,
    [invalid('invalid_upload_field', `Send exactly ${EXPECTED}, and nothing else.`, 'multipart body')])
  expectErrors(t, await postImport(app, `--${BOUNDARY}--\r\n`), 400, [invalid('missing_file', `The multipart body has no file: send ${EXPECTED}.`, 'field file')])
  const broken = await postImport(app, ONE_ROW, 'multipart/form-data')
  t.equal(broken.statusCode, 400)
  t.match(broken.json(), { errors: [{ error_code: 'malformed_multipart', message: `The multipart/form-data body could not be read: send ${EXPECTED}.` }] })
})

t.test('401 without a key', async (t) => {
  const { app } = await testApp(t)
  const res = await upload(app, ONE_ROW, 'rows.csv', { headers: {} })
  t.equal(res.statusCode, 401)
  t.equal(res.json<{ errors: ErrorEntry[] }>().errors[0]?.error_code, 'missing_authorization')
})

t.test('unknown columns and fields: one unknown_field warning per name; MOCK_STRICT=true refuses them', async (t) => {
  const file = csv('event_type,user_id,source,inserted_at,email,Plan', `identify_user,u1,backend-http,${TIME},a@b.c,`, `identify_user,u2,backend-http,${TIME},c@d.e,pro`)
  const known = 'event_type, user_id, company_id, event_name, metadata, source, inserted_at, hostname, pathname, url, user_agent'
  const warning = (name: string, line: number) => ({
    code: 'unknown_field',
    message: `"${name}" is not a field Userpilot documents on line ${line} (${known}); the real service may refuse or drop it. Custom properties belong in metadata.`,
    path: `line ${line}: /${name}`
  })
  const { app } = await testApp(t)
  expectImport(t, await upload(app, file), { totalRows: 2, fileSize: Buffer.byteLength(file), filename: 'rows.csv' })
  const [journal] = (await control(app, 'GET', '/requests?warnings=true')).json<Array<{ warnings: unknown[] }>>()
  t.same(journal?.warnings, [warning('email', 2), warning('Plan', 3)])

  const { app: strict } = await testApp(t, { MOCK_STRICT: 'true' })
  expectErrors(t, await upload(strict, file), 400, [warning('email', 2), warning('Plan', 3)].map((w) => invalid(w.code, `${w.message} (MOCK_STRICT=true refuses this.)`, w.path)))
  const clean = csv('event_type,user_id,source,inserted_at', `identify_user,u1,backend-http,${TIME}`)
  expectImport(t, await upload(strict, clean), { totalRows: 1, fileSize: Buffer.byteLength(clean), filename: 'rows.csv' })
})

t.test('the journal shows the upload\'s first bytes and its size', async (t) => {
  const { app } = await testApp(t, { MOCK_JOURNAL_BODY_BYTES: 16 })
  expectImport(t, await upload(app, ONE_ROW), { totalRows: 1, fileSize: Buffer.byteLength(ONE_ROW), filename: 'rows.csv' })
  const [entry] = (await control(app, 'GET', '/requests')).json<Array<Record<string, unknown>>>()
  t.match(entry, { method: 'POST', path: '/v1/imports', status: 200, body: ONE_ROW.slice(0, 16), body_bytes: Buffer.byteLength(ONE_ROW), body_truncated: true })
})

t.test('identify rows may not grow a profile past the property cap: 400 naming the line', async (t) => {
  const { app } = await testApp(t)
  const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]))).replace(/"/g, '""')
  for (const [type, idColumn] of [['identify_user', 'user_id'], ['identify_company', 'company_id']] as const) {
    const file = csv(`event_type,${idColumn},source,inserted_at,metadata`, `${type},x1,backend-http,${TIME},"${wide}"`, `${type},x2,backend-http,${TIME},`, `${type},x1,backend-http,${TIME},"{""one_more"":1}"`)
    const res = await upload(app, file)
    t.equal(res.statusCode, 400, type)
    t.same(res.json<{ errors: ErrorEntry[] }>().errors.map((entry) => [entry.error_code, entry.details]), [['too_many_metadata_keys', 'line 4: /metadata']], type)
  }
})

t.test('the OpenAPI document lists the import under Userpilot, as a multipart upload', async (t) => {
  const { app } = await testApp(t)
  await app.ready()
  const document = app.swagger() as unknown as { paths: Record<string, Record<string, { tags: string[], requestBody: { content: Record<string, unknown> }, responses: Record<string, unknown> }>> }
  const operation = document.paths['/v1/imports']?.post
  t.same(operation?.tags, ['Userpilot'])
  t.same(Object.keys(operation?.requestBody.content ?? {}), ['multipart/form-data'])
  t.ok(operation?.responses['200'], 'a 200 response')
})
