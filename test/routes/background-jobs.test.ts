import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { JobAccepted } from '../../schemas/jobs.js'
import { auth, bulkUsers, getJob, testApp, users } from '../helpers/app.js'
import { CLOCK_START, expectAccepted, expectErrors, expectJob, expectJobList, invalid, jobView, listJobs } from '../helpers/http.js'

const OTHER_KEY = 'test-key-2'

function iso (ms: number): string {
  return new Date(CLOCK_START + ms).toISOString()
}

/** Submits `{users: [...n users]}` and returns the asserted 202 body. */
async function submit (t: Test, app: FastifyInstance, n: number, options: { at?: number, key?: string } = {}): Promise<JobAccepted> {
  const payload = JSON.stringify({ users: users(n) })
  const headers = options.key === undefined ? auth() : auth(options.key)
  return expectAccepted(t, await bulkUsers(app, payload, headers), {
    totalRows: n,
    fileSize: Buffer.byteLength(payload),
    at: CLOCK_START + (options.at ?? 0),
    ...(options.key === undefined ? {} : { key: options.key })
  })
}

function notFound (jobId: string) {
  return [{ error: 'not_found', error_code: 'job_not_found', message: 'No job with this id exists for this API key.', details: `job_id ${JSON.stringify(jobId)}` }]
}

t.test('GET /v1/background_jobs/:job_id', async (t) => {
  t.test('raw and percent-encoded colons give the same job', async (t) => {
    const { app } = await testApp(t)
    const job = await submit(t, app, 2)
    const expected = jobView(job, { status: 'queued', completed_rows: 0, elapsed_time: 0 })
    t.match(job.job_id, /:/, 'precondition: the id has colons')
    expectJob(t, await getJob(app, job.job_id), expected)
    const encoded = job.job_id.replaceAll(':', '%3A')
    expectJob(t, await getJob(app, encoded), expected)
    expectJob(t, await getJob(app, job.job_id.replaceAll(':', '%3a')), expected)
    expectJob(t, await getJob(app, encodeURIComponent(job.job_id)), expected)
  })

  t.test('the link in the 202 is the status URL', async (t) => {
    const { app } = await testApp(t)
    const job = await submit(t, app, 1)
    const url = new URL(job.links)
    const res = await app.inject({ method: 'GET', url: url.pathname, headers: auth() })
    expectJob(t, res, jobView(job, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
  })

  t.test('a GET with a body is tolerated; the body is ignored', async (t) => {
    const { app } = await testApp(t)
    const job = await submit(t, app, 1)
    const expected = jobView(job, { status: 'queued', completed_rows: 0, elapsed_time: 0 })
    for (const [contentType, payload] of [
      ['application/json', JSON.stringify({ job_id: job.job_id })],
      ['application/json', '{"job_id": not json'],
      ['application/x-www-form-urlencoded', `job_id=${encodeURIComponent(job.job_id)}`],
      ['text/plain', 'anything']
    ] as const) {
      const res = await app.inject({ method: 'GET', url: `/v1/background_jobs/${job.job_id}`, headers: { ...auth(), 'content-type': contentType }, payload })
      expectJob(t, res, expected)
    }
  })

  t.test('an unknown id: 404 job_not_found', async (t) => {
    const { app } = await testApp(t)
    const unknown = 'bulk:jobs:NX-00000000:00000000-0000-4000-8000-000000000000'
    expectErrors(t, await getJob(app, unknown), 404, notFound(unknown))
    expectErrors(t, await getJob(app, 'x'.repeat(100)), 404, notFound('x'.repeat(100)))
    expectErrors(t, await getJob(app, 'a%22b%5Cc'), 404, notFound('a"b\\c'))
  })

  t.test('an empty id: 400 invalid_parameter on params', async (t) => {
    const { app } = await testApp(t)
    expectErrors(t, await getJob(app, ''), 400, [invalid(
      'invalid_parameter', 'The params parameter "job_id" is not valid: Expected string length greater or equal to 1.', 'params/job_id')])
  })
})

t.test('job ids longer than 100 characters reach the route; over 512 they are refused', async (t) => {
  const { app } = await testApp(t)
  const long = 'x'.repeat(101)
  expectErrors(t, await getJob(app, long), 404, notFound(long))
  expectErrors(t, await getJob(app, 'x'.repeat(513)), 400, [invalid(
    'invalid_parameter', 'The params parameter "job_id" is not valid: Expected string length less or equal to 512.', 'params/job_id')])
})

t.test('tenancy: state is partitioned by API key', async (t) => {
  const { app } = await testApp(t)
  const mine = await submit(t, app, 1)
  const theirs = await submit(t, app, 2, { key: OTHER_KEY })
  expectErrors(t, await getJob(app, mine.job_id, auth(OTHER_KEY)), 404, notFound(mine.job_id))
  expectErrors(t, await getJob(app, theirs.job_id), 404, notFound(theirs.job_id))
  expectJob(t, await getJob(app, theirs.job_id, auth(OTHER_KEY)), jobView(theirs, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
  expectJobList(t, await listJobs(app), [jobView(mine, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
  expectJobList(t, await listJobs(app, '', auth(OTHER_KEY)), [jobView(theirs, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
  expectJobList(t, await listJobs(app, '', auth('a-third-key')), [])
})

t.test('GET /v1/background_jobs', async (t) => {
  t.test('newest first, each in its current state', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const j1 = await submit(t, app, 1)
    await clock.advance(1000)
    const j2 = await submit(t, app, 2, { at: 1000 })
    await clock.advance(300)
    const j3 = await submit(t, app, 3, { at: 1300 })
    const v1 = jobView(j1, { status: 'completed', completed_rows: 1, elapsed_time: 0, end_time: iso(800) })
    const v2 = jobView(j2, { status: 'validating', completed_rows: 0, elapsed_time: 0 })
    const v3 = jobView(j3, { status: 'queued', completed_rows: 0, elapsed_time: 0 })
    expectJobList(t, await listJobs(app), [v3, v2, v1])
    expectJobList(t, await listJobs(app, '?limit=2'), [v3, v2])
    expectJobList(t, await listJobs(app, '?limit=1&offset=1'), [v2])
    expectJobList(t, await listJobs(app, '?offset=2'), [v1])
    expectJobList(t, await listJobs(app, '?offset=3'), [])
    expectJobList(t, await listJobs(app, '?limit=1'), [v3])
    expectJobList(t, await listJobs(app, '?limit=1000&offset=0'), [v3, v2, v1])
  })

  t.test('an empty list for a new key', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    expectJobList(t, await listJobs(app), [])
  })

  t.test('limit defaults to 50', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const jobs: JobAccepted[] = []
    for (let i = 0; i < 51; i++) jobs.push(await submit(t, app, 1))
    const newestFirst = jobs.reverse().map((job) => jobView(job, { status: 'queued', completed_rows: 0, elapsed_time: 0 }))
    expectJobList(t, await listJobs(app), newestFirst.slice(0, 50))
    expectJobList(t, await listJobs(app, '?offset=50'), newestFirst.slice(50))
  })

  t.test('invalid limit and offset: 400 invalid_parameter on the query string', async (t) => {
    const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    for (const [query, problem] of [
      ['?limit=0', 'Expected integer to be greater or equal to 1'],
      ['?limit=1001', 'Expected integer to be less or equal to 1000'],
      ['?limit=abc', 'Expected integer'],
      ['?limit=', 'Expected integer'],
      // TypeBox alone would read these as 2, 1 and 16.
      ['?limit=2.5', 'Expected integer'],
      ['?limit=1e3', 'Expected integer'],
      ['?limit=0x10', 'Expected integer']
    ] as const) {
      expectErrors(t, await listJobs(app, query), 400, [invalid(
        'invalid_parameter', `The querystring parameter "limit" is not valid: ${problem}.`, 'querystring/limit')])
    }
    t.equal((await listJobs(app, '?limit=%207%20&offset=00')).statusCode, 200, 'digits with spaces around are an integer')
    expectErrors(t, await listJobs(app, '?offset=-1'), 400, [invalid(
      'invalid_parameter', 'The querystring parameter "offset" is not valid: Expected integer to be greater or equal to 0.', 'querystring/offset')])
    expectErrors(t, await listJobs(app, '?limit=0&offset=x'), 400, [
      invalid('invalid_parameter', 'The querystring parameter "limit" is not valid: Expected integer to be greater or equal to 1.', 'querystring/limit'),
      invalid('invalid_parameter', 'The querystring parameter "offset" is not valid: Expected integer.', 'querystring/offset')
    ])
  })
})

t.test('lifecycle through HTTP, MOCK_STAGE_MS 200', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_STAGE_MS: 200 })
  const job = await submit(t, app, 1000)
  const view = (status: JobAccepted['status'], completedRows: number, endTime: string | null = null) =>
    jobView(job, { status, completed_rows: completedRows, elapsed_time: 0, end_time: endTime })

  expectJob(t, await getJob(app, job.job_id), view('queued', 0))
  await clock.advance(199)
  expectJob(t, await getJob(app, job.job_id), view('queued', 0))
  await clock.advance(1)
  expectJob(t, await getJob(app, job.job_id), view('validating', 0))
  await clock.advance(200)
  expectJob(t, await getJob(app, job.job_id), view('processing', 0))
  await clock.advance(100)
  const halfway = expectJob(t, await getJob(app, job.job_id), view('processing', 500))
  t.ok(halfway.completed_rows > 0 && halfway.completed_rows < 1000, 'rows rise during processing')
  await clock.advance(100)
  expectJob(t, await getJob(app, job.job_id), view('pending_refresh', 1000))
  await clock.advance(199)
  expectJob(t, await getJob(app, job.job_id), view('pending_refresh', 1000))
  await clock.advance(1)
  expectJob(t, await getJob(app, job.job_id), view('completed', 1000, iso(800)))
  expectJobList(t, await listJobs(app), [view('completed', 1000, iso(800))])
  await clock.advance(60_000)
  expectJob(t, await getJob(app, job.job_id), view('completed', 1000, iso(800)))
})

t.test('lifecycle through HTTP, MOCK_STAGE_MS 1500: elapsed_time in whole seconds', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_STAGE_MS: 1500 })
  const job = await submit(t, app, 1000)
  const view = (status: JobAccepted['status'], completedRows: number, elapsed: number, endTime: string | null = null) =>
    jobView(job, { status, completed_rows: completedRows, elapsed_time: elapsed, end_time: endTime })

  const steps: Array<[number, ReturnType<typeof view>]> = [
    [999, view('queued', 0, 0)],
    [1, view('queued', 0, 1)],
    [500, view('validating', 0, 1)],
    [1500, view('processing', 0, 3)],
    [750, view('processing', 500, 3)],
    // Progress steps come every 75 ms (a twentieth of the stage): 4050 ms is one, with 1050/1500 of the rows due.
    [300, view('processing', 700, 4)],
    [450, view('pending_refresh', 1000, 4)],
    [1500, view('completed', 1000, 6, iso(6000))],
    [10_000, view('completed', 1000, 6, iso(6000))]
  ]
  expectJob(t, await getJob(app, job.job_id), view('queued', 0, 0))
  for (const [ms, expected] of steps) {
    await clock.advance(ms)
    expectJob(t, await getJob(app, job.job_id), expected)
  }
  expectJobList(t, await listJobs(app), [view('completed', 1000, 6, iso(6000))])
})
