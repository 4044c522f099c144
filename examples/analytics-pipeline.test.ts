// Testing an import → track → export pipeline offline: the mock runs the import and the
// export as jobs on its own clock; the test moves that clock instead of sleeping.
import t from 'tap'
import { startMock } from 'userpilot-mock'
import { exportEvents, importHistory, trackLive } from './analytics-pipeline.js'

const HISTORY = [
  'event_type,user_id,company_id,event_name,source,inserted_at,metadata.plan',
  'identify_user,ada,acme,,backend-http-import,2024-07-28 08:55:35.874555,trial',
  'track,ada,,Signed Up,backend-segment,2024-07-28T09:00:00Z,'
].join('\n')

t.test('what was imported and tracked comes back out of an export, in order', async (t) => {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())
  const key = 'pipeline-example'
  // Each poll of a job moves the mock's clock to the job's end instead of waiting.
  const options = { baseUrl: mock.url, apiKey: key, wait: async () => await mock.flush(key) }

  await importHistory(HISTORY, options)
  t.match(await mock.user(key, 'ada'), { company_id: 'acme', metadata: { plan: 'trial' } }, 'the identify row merged the user')
  await trackLive('ada', 'Upgraded', options)

  const events = await exportEvents(options)
  t.same(events.map((event) => [event.event_type, event.event_name, event.source, event.inserted_at]), [
    ['identify_user', '', 'backend-http-import', '2024-07-28T08:55:35.874555Z'],
    ['track', 'Signed Up', 'backend-segment', '2024-07-28T09:00:00.000000Z'],
    ['track', 'Upgraded', 'backend-http', events[2]?.inserted_at]
  ])
  t.match(await mock.exports(key), [{ status: 'completed', format: 'ndjson', chunks: [{ events: 3 }] }])
})

t.test('a refused call and a failed job are errors with the mock\'s answer', async (t) => {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())
  const key = 'pipeline-example'
  await mock.addFault(key, { match: { path: '/v1/imports' }, status: 503 })
  await t.rejects(importHistory(HISTORY, { baseUrl: mock.url, apiKey: key, wait: async () => await mock.flush(key) }), /POST \/v1\/imports answered 503/)
  await mock.addFault(key, { match: { path: '/v1/track' }, status: 429 })
  await t.rejects(trackLive('ada', 'Upgraded', { baseUrl: mock.url, apiKey: key, wait: async () => await mock.flush(key) }), /POST \/v1\/track answered 429/)
  // Each poll finds the export still pending and fails it: the client gives up.
  const failEach = async (): Promise<void> => {
    for (const job of await mock.exports(key)) if (job.status === 'pending') await mock.failExport(key, job.job_id)
  }
  await t.rejects(exportEvents({ baseUrl: mock.url, apiKey: key, wait: failEach }), /the job failed/)
})
