import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ExportCreated, ExportJob, ExportJobList } from '../../schemas/exports.js'
import { auth, assertSchema, KEY } from '../helpers/app.js'
import { appBackends } from '../helpers/store.js'
import { CLOCK_START, expectErrors } from '../helpers/http.js'
import { tenantOf } from '../../src/tenant.js'
import { presignedUrl } from '../../src/exports/links.js'

// The Export API: create (201), status with chunks and signed links, list, 409, 404, filters, expiry.

const REALTIME = { 'content-type': 'application/json', 'x-api-version': '2020-09-22' }
const DAY = 24 * 3600 * 1000

async function track (app: FastifyInstance, userId: string, eventName: string, key = KEY): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/v1/track', headers: { ...auth(key), ...REALTIME }, payload: { user_id: userId, event_name: eventName, metadata: { n: eventName } } })
  if (res.statusCode !== 202) throw new Error(res.body)
}

function createExport (app: FastifyInstance, body: unknown = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: '/api/v1/analytics/exports', headers: { ...auth(), 'content-type': 'application/json', ...headers }, payload: JSON.stringify(body) })
}

function status (app: FastifyInstance, jobId: string, key = KEY): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/api/v1/analytics/exports/jobs/${jobId}`, headers: auth(key) })
}

/** Downloads a file by its presigned URL (path and query only: inject has no host). */
function download (app: FastifyInstance, url: string): Promise<LightMyRequestResponse> {
  const { pathname, search } = new URL(url)
  return app.inject({ method: 'GET', url: `${pathname}${search}` })
}

function ndjsonNames (body: string): string[] {
  return body.split('\n').filter((line) => line !== '').map((line) => (JSON.parse(line) as { event_name: string }).event_name)
}

for (const backend of appBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('an export runs on the clock: pending, then one file per chunk with progress, then completed', async (t) => {
      const { app, clock } = await backend.app(t, { MOCK_EXPORT_CHUNK_EVENTS: 2 })
      for (const name of ['e1', 'e2', 'e3']) await track(app, 'u1', name)
      const res = await createExport(app)
      t.equal(res.statusCode, 201)
      const created = res.json()
      assertSchema(t, ExportCreated, created)
      t.match(created.job_id, /^[0-9a-f-]{36}$/)
      t.strictSame(created, { job_id: created.job_id, environment_app_token: tenantOf(KEY).envId, environment_name: 'mock', links: `http://localhost:80/api/v1/analytics/exports/jobs/${created.job_id as string}`, start_time: new Date(CLOCK_START).toISOString() })

      const pending = (await status(app, created.job_id)).json()
      assertSchema(t, ExportJob, pending)
      t.strictSame(pending, { app_token: tenantOf(KEY).envId, job_id: created.job_id, status: 'pending', type: 'ndjson', progress: 0, start_time: created.start_time, end_time: null, current_chunk: null, completed_chunks: [], all_chunks: [], presigned_urls: [] })

      await clock.advance(200)
      const processing = (await status(app, created.job_id)).json()
      t.match(processing, { status: 'processing', progress: 0, current_chunk: 1, completed_chunks: [], all_chunks: [1] })
      await clock.advance(200)
      const half = (await status(app, created.job_id)).json()
      t.match(half, { status: 'processing', progress: 66, current_chunk: 2, completed_chunks: [1], all_chunks: [1, 2] })
      t.equal(half.presigned_urls.length, 1)
      await clock.advance(200)
      const done = (await status(app, created.job_id)).json()
      assertSchema(t, ExportJob, done)
      t.match(done, { status: 'completed', progress: 100, end_time: new Date(CLOCK_START + 600).toISOString(), current_chunk: null, completed_chunks: [1, 2], all_chunks: [1, 2] })
      const names: string[] = []
      for (const link of done.presigned_urls as Array<{ filename: string, url: string }>) {
        t.match(link.filename, /^export_[0-9a-f-]{36}_000[12]\.ndjson$/)
        const file = await download(app, link.url)
        t.equal(file.statusCode, 200)
        t.equal(file.headers['content-type'], 'application/x-ndjson')
        t.equal(file.headers['content-disposition'], `attachment; filename="${link.filename}"`)
        names.push(...ndjsonNames(file.body))
      }
      t.strictSame(names, ['e1', 'e2', 'e3'], 'every event once, in order')

      const list = await app.inject({ method: 'GET', url: '/api/v1/analytics/exports/jobs/', headers: auth() })
      assertSchema(t, ExportJobList, list.json())
      t.strictSame(list.json(), [{ job_id: created.job_id, status: 'completed', progress: 100, start_time: created.start_time, end_time: done.end_time, elapsed_time: '0:00:00', elapsed_time_seconds: 0 }])
    })

    t.test('one export per key at a time (409); other keys are not held up, and cannot see it (404)', async (t) => {
      const { app } = await backend.app(t)
      const first = (await createExport(app)).json()
      expectErrors(t, await createExport(app), 409, [{ error: 'conflict', error_code: 'export_in_progress', message: `Export ${first.job_id as string} is still running for this API key, and one export runs at a time. Poll it until it is completed or failed, then send this request again.`, details: first.job_id }])
      t.equal((await createExport(app, {}, auth('other-key'))).statusCode, 201)
      expectErrors(t, await status(app, first.job_id, 'other-key'), 404, [{ error: 'not_found', error_code: 'job_not_found', message: 'No export job with this id exists for this API key (an export\'s status is kept for 3 days).', details: `job_id "${first.job_id as string}"` }])
      expectErrors(t, await status(app, 'nope'), 404, [{ error: 'not_found', error_code: 'job_not_found', message: 'No export job with this id exists for this API key (an export\'s status is kept for 3 days).', details: 'job_id "nope"' }])
      await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })
      const bare = await app.inject({ method: 'POST', url: '/api/v1/analytics/exports', headers: auth() })
      t.equal(bare.statusCode, 201, 'after it ended, the next one may start; no body at all is every event as NDJSON')
      t.equal((await status(app, bare.json().job_id)).json().type, 'ndjson')
    })

    t.test('filters: from/to, event_type, user_id, company_id; the ignored ones warn', async (t) => {
      const { app, clock } = await backend.app(t, { MOCK_CLOCK: 'manual' })
      await app.inject({ method: 'POST', url: '/v1/identify', headers: { ...auth(), ...REALTIME }, payload: { user_id: 'u1', company: { id: 'c1' } } })
      await clock.advance(1000)
      await track(app, 'u1', 'a')
      await track(app, 'u2', 'b')
      await clock.advance(1000)
      await track(app, 'u1', 'c')
      const run = async (body: Record<string, unknown>): Promise<string[]> => {
        const created = await createExport(app, body)
        t.equal(created.statusCode, 201, JSON.stringify(body))
        await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })
        const job = (await status(app, created.json().job_id)).json()
        const file = await download(app, job.presigned_urls[0].url)
        return file.body.split('\n').filter((line) => line !== '').map((line) => { const e = JSON.parse(line); return `${e.event_type as string}:${e.event_name as string}:${String(e.user_id)}` })
      }
      t.strictSame(await run({}), ['identify_user::u1', 'track:a:u1', 'track:b:u2', 'track:c:u1'])
      t.strictSame(await run({ event_type: ['track'], user_id: ['u1'] }), ['track:a:u1', 'track:c:u1'])
      t.strictSame(await run({ from: new Date(CLOCK_START + 1000).toISOString(), to: new Date(CLOCK_START + 2000).toISOString() }), ['track:a:u1', 'track:b:u2'])
      t.strictSame(await run({ company_id: ['c1'] }), ['identify_user::u1', 'track:a:u1', 'track:c:u1'], 'tracks carry the user\'s company')
      t.strictSame(await run({ user_id: ['nobody'] }), [], 'nothing matches: one empty file')
      const warned = await createExport(app, { emails: ['a@b.c'], segment_id: 7, exclusions: {} })
      t.equal(warned.statusCode, 201)
      const [entry] = (await app.inject({ method: 'GET', url: '/__mock/requests?limit=1', headers: auth() })).json()
      t.strictSame(entry.warnings.map((w: { code: string, path: string }) => `${w.code} ${w.path}`), ['ignored_filter /emails', 'ignored_filter /segment_id', 'ignored_filter /exclusions'])
      expectErrors(t, await createExport(app, { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' }), 400, [{ error: 'invalid_request', error_code: 'invalid_time_range', message: '"from" (2025-01-02T00:00:00Z) must be before "to" (2025-01-01T00:00:00Z).', details: '/from' }])
      t.equal((await createExport(app, { format: 'xml' })).statusCode, 400, 'an unknown format is refused')
    })

    t.test('strict mode refuses the filters the mock does not apply', async (t) => {
      const { app } = await backend.app(t, { MOCK_STRICT: 'true' })
      const res = await createExport(app, { segment_id: '1' })
      t.equal(res.statusCode, 400)
      t.equal(res.json().errors[0].error_code, 'ignored_filter')
    })

    t.test('links: signed and expiring after 2 days; status gone after 3 days', async (t) => {
      // A manual clock: days pass without a timer firing (the Redis store's lease sweep would fire thousands).
      const { app, clock } = await backend.app(t, { MOCK_CLOCK: 'manual' })
      await track(app, 'u1', 'e1')
      const created = (await createExport(app, { format: 'csv' })).json()
      await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })
      const job = (await status(app, created.job_id)).json()
      const url = new URL(job.presigned_urls[0].url as string)
      t.equal((await download(app, url.href)).headers['content-type'], 'text/csv; charset=utf-8')
      const tampered = new URL(url.href)
      tampered.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 1))
      expectErrors(t, await download(app, tampered.href), 403, [{ error: 'forbidden', error_code: 'invalid_signature', message: 'This download link is not one the mock signed, or it was altered: take the URL from presigned_urls of the export job as it is.', details: 'signature' }])
      const otherFile = new URL(url.href.replace('_0001.csv', '_0002.csv'))
      t.equal((await download(app, otherFile.href)).statusCode, 403, 'the file name is signed too')
      const unsigned = new URL(url.href)
      unsigned.search = ''
      t.equal((await download(app, unsigned.href)).statusCode, 403, 'no signature at all')
      await clock.advance(2 * DAY)
      const expired = await download(app, url.href)
      t.equal(expired.statusCode, 403)
      t.equal(expired.json().errors[0].error_code, 'link_expired')
      t.equal((await status(app, created.job_id)).statusCode, 200, 'the status is still there on day 2')
      await clock.advance(DAY)
      t.equal((await status(app, created.job_id)).statusCode, 404, 'and gone after 3 days')
      t.strictSame((await app.inject({ method: 'GET', url: '/api/v1/analytics/exports/jobs/', headers: auth() })).json(), [])
      const tenant = tenantOf(KEY).id
      t.ok(await app.mock.store.exports.get(tenant, created.job_id), 'still kept until the key\'s next export')
      const next = (await createExport(app)).json()
      t.equal(await app.mock.store.exports.get(tenant, created.job_id), undefined, 'which forgets the expired one')
      t.equal(await app.mock.store.exports.readFile(tenant, created.job_id, job.presigned_urls[0].filename), undefined, 'with its files')
      t.ok(await app.mock.store.exports.get(tenant, next.job_id))
      await clock.advance(3 * DAY)
      t.equal((await createExport(app)).statusCode, 409, 'a running export is never forgotten, however old')
      t.ok(await app.mock.store.exports.get(tenant, next.job_id))
    })

    t.test('a step that fails (the store away) is logged and tried again a second later', async (t) => {
      const { app, clock } = await backend.app(t)
      const exports = app.mock.store.exports
      const update = exports.update.bind(exports)
      let failures = 1
      exports.update = async (record, expected) => {
        if (failures-- > 0) throw new Error('store away')
        return await update(record, expected)
      }
      const created = (await createExport(app)).json()
      await clock.advance(200)
      t.equal((await status(app, created.job_id)).json().status, 'pending', 'the step failed')
      await clock.advance(1000)
      t.equal((await status(app, created.job_id)).json().status, 'processing', 'and was tried again')
    })

    t.test('the Export API has the key check, queued faults and the journal of /v1', async (t) => {
      const { app } = await backend.app(t)
      const fault = await app.inject({ method: 'POST', url: '/__mock/faults', headers: auth(), payload: { match: { method: 'POST', path: '/api/v1/analytics/exports' }, times: 1, status: 503 } })
      t.equal(fault.statusCode, 201)
      const faulted = await createExport(app)
      t.equal(faulted.statusCode, 503)
      t.equal(faulted.headers['retry-after'], '1')
      t.equal((await createExport(app)).statusCode, 201, 'the fault was used up')
      const journal = (await app.inject({ method: 'GET', url: '/__mock/requests?limit=2', headers: auth() })).json()
      t.strictSame(journal.map((entry: { method: string, path: string, status: number }) => `${entry.method} ${entry.path} ${entry.status}`), ['POST /api/v1/analytics/exports 201', 'POST /api/v1/analytics/exports 503'])
      t.equal((await app.inject({ method: 'GET', url: '/api/v1/analytics/exports/jobs/' })).statusCode, 401, 'no key, no jobs')
      t.equal((await app.inject({ method: 'GET', url: '/api/v1/analytics/exports/nothing', headers: auth() })).statusCode, 404)
    })

    t.test('reset forgets the exports and their files; a failed export keeps what it wrote', async (t) => {
      const { app, clock } = await backend.app(t, { MOCK_EXPORT_CHUNK_EVENTS: 1 })
      await track(app, 'u1', 'e1')
      await track(app, 'u1', 'e2')
      const failing = (await createExport(app, {}, { 'x-mock-job-outcome': 'failed@processing' })).json()
      await clock.advance(400)
      const failed = (await status(app, failing.job_id)).json()
      t.match(failed, { status: 'failed', completed_chunks: [1], current_chunk: null })
      t.strictSame(ndjsonNames((await download(app, failed.presigned_urls[0].url)).body), ['e1'])
      const early = (await createExport(app, {}, { 'x-mock-job-outcome': 'failed' })).json()
      await clock.advance(200)
      t.match((await status(app, early.job_id)).json(), { status: 'failed', completed_chunks: [], presigned_urls: [] })
      expectErrors(t, await createExport(app, {}, { 'x-mock-job-outcome': 'maybe' }), 400, [{ error: 'invalid_request', error_code: 'invalid_outcome_header', message: 'On an export, X-Mock-Job-Outcome takes "failed", "failed@pending" or "failed@processing".', details: 'x-mock-job-outcome "maybe"' }])
      // A link the mock signed for a file it never wrote (the job has one file).
      const key = await app.mock.store.exports.signingKey()
      const unwritten = presignedUrl('http://localhost', key, { tenant: tenantOf(KEY).id, jobId: failing.job_id }, { filename: `export_${failing.job_id as string}_0002.ndjson`, writtenAt: CLOCK_START })
      expectErrors(t, await download(app, unwritten), 404, [{ error: 'not_found', error_code: 'file_not_found', message: 'The export or its file is gone (the key was reset, or the job was forgotten).', details: `file "export_${failing.job_id as string}_0002.ndjson"` }])
      await app.inject({ method: 'POST', url: '/__mock/reset', headers: auth() })
      t.equal((await status(app, failing.job_id)).statusCode, 404)
      const gone = await download(app, failed.presigned_urls[0].url)
      t.equal(gone.statusCode, 404)
      t.equal(gone.json().errors[0].error_code, 'file_not_found')
    })
  })
}
