import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { MockExport } from '../../../schemas/exports.js'
import { assertSchema, auth, KEY, testApp } from '../../helpers/app.js'
import { CLOCK_START, expectErrors } from '../../helpers/http.js'
import { tenantOf } from '../../../src/tenant.js'

// The control calls on exports: list, advance (a step or to a status), fail; flush runs them to the end.

async function track (app: FastifyInstance, name: string): Promise<void> {
  await app.inject({ method: 'POST', url: '/v1/track', headers: { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22' }, payload: { user_id: 'u1', event_name: name } })
}

async function newExport (app: FastifyInstance, body: Record<string, unknown> = {}): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/analytics/exports', headers: { ...auth(), 'content-type': 'application/json' }, payload: body })
  return res.json().job_id
}

async function control (app: FastifyInstance, url: string, payload?: unknown): Promise<LightMyRequestResponse> {
  return await app.inject(
    { method: payload === undefined && !url.includes('/advance') && !url.includes('/fail') ? 'GET' : 'POST', url: `/__mock${url}`, headers: { ...auth(), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }) })
}

t.test('advance one step at a time, or to a status; list shows filters and chunks', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual', MOCK_EXPORT_CHUNK_EVENTS: 1 })
  await track(app, 'a')
  await track(app, 'b')
  const jobId = await newExport(app, { format: 'csv', event_type: ['track'], from: '2025-01-01T00:00:00Z' })
  t.match((await control(app, `/exports/${jobId}/advance`, null)).json(), { status: 'processing', chunks: [] })
  const one = (await control(app, `/exports/${jobId}/advance`, null)).json()
  assertSchema(t, MockExport, one)
  t.match(one, { status: 'processing', progress: 50, chunks: [{ number: 1, events: 1 }] })
  const done = (await control(app, `/exports/${jobId}/advance`, { to: 'completed' })).json()
  t.strictSame(done, {
    key_id: tenantOf(KEY).envId,
    job_id: jobId,
    status: 'completed',
    format: 'csv',
    progress: 100,
    created_at: new Date(CLOCK_START).toISOString(),
    end_time: new Date(CLOCK_START).toISOString(),
    filters: { from: '2025-01-01T00:00:00.000Z', to: null, event_type: ['track'], user_id: null, company_id: null },
    chunks: [
      { number: 1, filename: `export_${jobId}_0001.csv`, events: 1, bytes: done.chunks[0].bytes, written_at: new Date(CLOCK_START).toISOString(), url: done.chunks[0].url },
      { number: 2, filename: `export_${jobId}_0002.csv`, events: 1, bytes: done.chunks[1].bytes, written_at: new Date(CLOCK_START).toISOString(), url: done.chunks[1].url }
    ],
    fail_at: null
  })
  t.ok(done.chunks[0].bytes > 0)
  const status = (await app.inject({ method: 'GET', url: `/api/v1/analytics/exports/jobs/${jobId}`, headers: auth() })).json()
  t.strictSame(done.chunks.map((chunk: { url: string }) => chunk.url), status.presigned_urls.map((link: { url: string }) => link.url), 'the same links as the job status')
  const file = await app.inject({ method: 'GET', url: new URL(done.chunks[1].url as string).pathname + new URL(done.chunks[1].url as string).search })
  t.equal(file.body.split('\r\n')[0], 'app_token,event_type,event_name,user_id,company_id,source,inserted_at,hostname,pathname,user_agent,metadata', 'a CSV with its header')
  t.match(file.body.split('\r\n')[1], /^NX-[0-9a-f]+,track,b,u1,,backend-http,/, 'and the second file holds the second event')
  expectErrors(t, await control(app, `/exports/${jobId}/advance`, null), 409, [{ error: 'conflict', error_code: 'job_finished', message: `Export ${jobId} has already completed; it cannot move any more.`, details: 'completed' }])
  const list = (await control(app, '/exports')).json()
  t.strictSame(list, [done])
  t.strictSame((await control(app, '/exports?all=1&limit=1&offset=1')).json(), [])
})

t.test('fail now, or with advance to failed; unknown ids are 404; flush finishes exports too', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  await track(app, 'a')
  const first = await newExport(app)
  t.match((await control(app, `/exports/${first}/fail`, null)).json(), { status: 'failed', end_time: new Date(CLOCK_START).toISOString() })
  expectErrors(t, await control(app, `/exports/${first}/fail`, null), 409, [{ error: 'conflict', error_code: 'job_finished', message: `Export ${first} has already failed; it cannot move any more.`, details: 'failed' }])
  const second = await newExport(app)
  t.match((await control(app, `/exports/${second}/advance`, { to: 'failed' })).json(), { status: 'failed' })
  expectErrors(t, await control(app, '/exports/nope/advance', null), 404, [{ error: 'not_found', error_code: 'job_not_found', message: 'No export with this id exists for this API key (add ?all=1 to look across keys).', details: 'export "nope"' }])
  expectErrors(t, await control(app, '/exports/nope/fail', null), 404, [{ error: 'not_found', error_code: 'job_not_found', message: 'No export with this id exists for this API key (add ?all=1 to look across keys).', details: 'export "nope"' }])
  // Reset away between the lookup of its key and the move (another test's reset, say): not found either.
  const raced = await newExport(app)
  const advance = app.mock.exportRunner.advance.bind(app.mock.exportRunner)
  app.mock.exportRunner.advance = async () => ({ ok: false, reason: 'not_found' })
  expectErrors(t, await control(app, `/exports/${raced}/advance`, null), 404, [{ error: 'not_found', error_code: 'job_not_found', message: 'No export with this id exists for this API key (add ?all=1 to look across keys).', details: `export "${raced}"` }])
  app.mock.exportRunner.advance = advance
  await control(app, `/exports/${raced}/fail`, null)
  const third = await newExport(app)
  t.match((await control(app, `/exports/${third}/advance`, { to: 'processing' })).json(), { status: 'processing', chunks: [] }, 'until a status short of the end')
  t.strictSame((await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })).json(), { finished: 1, deleted: { users: 0, companies: 0 } })
  t.match((await control(app, '/exports')).json()[0], { job_id: third, status: 'completed', chunks: [{ events: 1 }] })
  t.strictSame((await app.inject({ method: 'POST', url: '/__mock/clock/flush?all=1' })).json(), { finished: 0, deleted: { users: 0, companies: 0 } }, 'all keys: nothing left')
})
