import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { EXPORT_FORMATS } from '../../src/exports/formats.js'
import { tenantOf } from '../../src/tenant.js'
import { auth, KEY } from '../helpers/app.js'
import { READERS, type ReadEvent } from '../helpers/export-readers.js'
import { BOUNDARY, multipartBody } from '../helpers/http.js'
import { appBackends } from '../helpers/store.js'

// The loop end to end (issue 16): import a history file, identify and track in real time, export
// in every format, read each file back with an independent reader, and find every event once,
// in order, each with its own source and time.

const REALTIME = { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22' }

const HISTORY = [
  'event_type,user_id,company_id,event_name,source,inserted_at,hostname,pathname,user_agent,url,metadata',
  'identify_company,,c1,,backend-hubspot,2024-07-28 08:55:35.874555,,,,,"{""name"":""Acme, Inc.""}"',
  'identify_user,u1,,,backend-http-import,2024-07-28T08:56:00Z,,,,,"{""plan"":""trial""}"',
  'page_view,u1,,,web-client,2024-07-28T09:00:00.250Z,,,Mozilla/5.0,https://app.example.com/settings?tab=1,{}',
  'track,u1,,Signed up,backend-segment,2024-07-29 10:00:00,,,,,"{""via"":""=ads""}"'
].join('\r\n') + '\r\n'

/** What the export must hold of each event: type, name, user, source and time, in the order they were kept. */
type Seen = Pick<ReadEvent, 'event_type' | 'event_name' | 'user_id' | 'source'> & { at: string }

function micros (at: string | bigint): string {
  if (typeof at === 'string') return at
  const ms = Number(at / 1000n)
  return `${new Date(ms).toISOString().slice(0, 23)}${String(at % 1000n).padStart(3, '0')}Z`
}

async function flush (app: FastifyInstance): Promise<void> {
  const res = await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth() })
  if (res.statusCode !== 200) throw new Error(res.body)
}

for (const backend of appBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    const { app, clock } = await backend.app(t, { MOCK_CLOCK: 'manual', MOCK_EXPORT_CHUNK_EVENTS: 3 })

    const upload = await app.inject({ method: 'POST', url: '/v1/imports', headers: { ...auth(), 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, payload: multipartBody([{ name: 'file', filename: 'history.csv', contentType: 'text/csv', content: HISTORY }]) })
    t.equal(upload.statusCode, 200, upload.body)
    t.match(upload.json(), { status: 'queued', total_rows: 4, type: 'import', filename: 'history.csv' })
    await flush(app)
    t.match((await app.inject({ method: 'GET', url: `/v1/background_jobs/${upload.json().job_id as string}`, headers: auth() })).json(), { status: 'completed', completed_rows: 4 })

    await clock.advance(1000)
    t.equal((await app.inject({ method: 'POST', url: '/v1/identify', headers: REALTIME, payload: { user_id: 'u1', metadata: { plan: 'pro' }, company: { id: 'c1' } } })).statusCode, 202)
    t.equal((await app.inject({ method: 'POST', url: '/v1/track', headers: REALTIME, payload: { user_id: 'u1', event_name: 'Upgraded', metadata: { to: 'pro' } } })).statusCode, 202)
    const now = new Date(clock.now()).toISOString().replace('Z', '000Z')

    const user = (await app.inject({ method: 'GET', url: '/__mock/users/u1', headers: auth() })).json()
    t.match(user, { user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro' } }, 'the import and the real-time identify merged into one profile')

    const expected: Seen[] = [
      { event_type: 'identify_company', event_name: '', user_id: null, source: 'backend-hubspot', at: '2024-07-28T08:55:35.874555Z' },
      { event_type: 'identify_user', event_name: '', user_id: 'u1', source: 'backend-http-import', at: '2024-07-28T08:56:00.000000Z' },
      { event_type: 'page_view', event_name: '', user_id: 'u1', source: 'web-client', at: '2024-07-28T09:00:00.250000Z' },
      { event_type: 'track', event_name: 'Signed up', user_id: 'u1', source: 'backend-segment', at: '2024-07-29T10:00:00.000000Z' },
      { event_type: 'identify_user', event_name: '', user_id: 'u1', source: 'backend-http', at: now },
      { event_type: 'track', event_name: 'Upgraded', user_id: 'u1', source: 'backend-http', at: now }
    ]

    for (const format of EXPORT_FORMATS) {
      const created = await app.inject({ method: 'POST', url: '/api/v1/analytics/exports', headers: { ...auth(), 'content-type': 'application/json' }, payload: { format } })
      t.equal(created.statusCode, 201, format)
      await flush(app)
      const job = (await app.inject({ method: 'GET', url: `/api/v1/analytics/exports/jobs/${created.json().job_id as string}`, headers: auth() })).json()
      t.match(job, { status: 'completed', type: format, progress: 100, completed_chunks: [1, 2] }, `${format}: two files of up to 3 events`)
      const seen: Seen[] = []
      const all: ReadEvent[] = []
      for (const link of job.presigned_urls as Array<{ url: string }>) {
        const url = new URL(link.url)
        const file = await app.inject({ method: 'GET', url: url.pathname + url.search })
        t.equal(file.statusCode, 200)
        const { events } = await READERS[format](file.rawPayload)
        all.push(...events)
        seen.push(...events.map((event) => ({ event_type: event.event_type, event_name: event.event_name, user_id: event.user_id, source: event.source, at: micros(event.inserted_at) })))
      }
      t.strictSame(seen, expected, `${format}: every event once, in order, with its own source and time`)
      t.ok(all.every((event) => event.app_token === tenantOf(KEY).envId), `${format}: the key's app token`)
      const pageView = all[2] as ReadEvent
      t.strictSame([pageView.hostname, pageView.pathname, pageView.user_agent], ['app.example.com', '/settings', 'Mozilla/5.0'], `${format}: the url's host and path`)
      t.strictSame(all[0]?.metadata, { name: 'Acme, Inc.' }, `${format}: metadata as sent`)
      t.strictSame(all[3]?.metadata, { via: '=ads' }, `${format}: a formula-like value comes back unchanged`)
      t.equal(all[5]?.company_id, 'c1', `${format}: the track carries the user's company`)
    }
  })
}
