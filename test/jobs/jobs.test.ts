import t from 'tap'
import { createJobRecord, iso, jobLink, toBackgroundJob, toJobAccepted } from '../../src/jobs/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { BackgroundJob, JobAccepted } from '../../schemas/jobs.js'
import type { JobRecord } from '../../src/store/store.js'

const NOW = Date.parse('2025-05-19T07:29:12.000Z')
const BASE = 'http://127.0.0.1:3000'
const tenant = tenantOf('test-key-1')
const UUID_V4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'

/** The uuid at the end of a job id. */
function uuidOf (jobId: string): string {
  return jobId.slice(jobId.lastIndexOf(':') + 1)
}

t.test('createJobRecord', async (t) => {
  t.test('a queued job with an id bulk:jobs:<env>:<uuid v4>', async (t) => {
    const job = createJobRecord({ tenant, type: 'users', totalRows: 2, fileSize: 379, now: NOW })
    t.match(job.jobId, new RegExp(`^bulk:jobs:NX-[0-9a-f]{8}:${UUID_V4}$`))
    t.ok(job.jobId.startsWith(`bulk:jobs:${tenant.envId}:`), 'the env part is the tenant envId')
    t.strictSame(job, {
      jobId: job.jobId,
      tenant: tenant.id,
      type: 'users',
      status: 'queued',
      totalRows: 2,
      completedRows: 0,
      fileSize: 379,
      filename: `bulk_identify_users_${uuidOf(job.jobId)}.json`,
      submittedAt: NOW,
      endTime: null,
      history: [{ status: 'queued', at: NOW }],
      failAt: null
    })
  })

  t.test('the generated filename carries the type and the same uuid', async (t) => {
    const job = createJobRecord({ tenant, type: 'companies', totalRows: 1, fileSize: 1, now: NOW })
    t.equal(job.filename, `bulk_identify_companies_${uuidOf(job.jobId)}.json`)
    t.match(job.filename, new RegExp(`^bulk_identify_companies_${UUID_V4}\\.json$`))
  })

  t.test('a given filename is kept', async (t) => {
    const job = createJobRecord({ tenant, type: 'users', totalRows: 1, fileSize: 1, filename: 'my-upload.csv', now: NOW })
    t.equal(job.filename, 'my-upload.csv')
    const unset = createJobRecord({ tenant, type: 'users', totalRows: 1, fileSize: 1, filename: undefined, now: NOW })
    t.equal(unset.filename, `bulk_identify_users_${uuidOf(unset.jobId)}.json`, 'undefined means generated')
  })

  t.test('every job gets its own uuid; the env part follows the key', async (t) => {
    const a = createJobRecord({ tenant, type: 'users', totalRows: 1, fileSize: 1, now: NOW })
    const b = createJobRecord({ tenant, type: 'users', totalRows: 1, fileSize: 1, now: NOW })
    t.not(a.jobId, b.jobId)
    const other = createJobRecord({ tenant: tenantOf('another-key'), type: 'users', totalRows: 1, fileSize: 1, now: NOW })
    t.ok(other.jobId.startsWith(`bulk:jobs:${tenantOf('another-key').envId}:`))
    t.not(other.jobId.split(':')[2], a.jobId.split(':')[2])
  })
})

t.test('jobLink is the status endpoint under the base URL', async (t) => {
  t.equal(jobLink(BASE, 'bulk:jobs:NX-1:abc'), 'http://127.0.0.1:3000/v1/background_jobs/bulk:jobs:NX-1:abc')
  t.equal(jobLink('https://mock.example/base', 'j'), 'https://mock.example/base/v1/background_jobs/j')
})

/** A job as the store may hold it some time after submission. */
function storedJob (changes: Partial<JobRecord> = {}): JobRecord {
  return { ...createJobRecord({ tenant, type: 'users', totalRows: 10, fileSize: 379, now: NOW }), ...changes }
}

t.test('toJobAccepted', async (t) => {
  const job = storedJob()
  const body = toJobAccepted(job, BASE)
  t.strictSame(body, {
    job_id: job.jobId,
    status: 'queued',
    total_rows: 10,
    file_size: 379,
    filename: job.filename,
    type: 'users',
    links: `${BASE}/v1/background_jobs/${job.jobId}`,
    start_time: '2025-05-19T07:29:12.000Z',
    submitted_at: '2025-05-19T07:29:12.000Z',
    end_time: null
  })
  t.same(Object.keys(body).sort(), Object.keys(JobAccepted.properties).sort(), 'exactly the schema fields')
  t.equal(toJobAccepted(storedJob({ endTime: NOW + 5000, status: 'completed' }), BASE).end_time, null, 'the 202 body never has an end time')
})

t.test('toBackgroundJob', async (t) => {
  t.test('running: no end time, elapsed whole seconds to now, rounded down', async (t) => {
    const job = storedJob({ status: 'processing', completedRows: 4 })
    const body = toBackgroundJob(job, BASE, NOW + 2_999)
    t.strictSame(body, {
      ...toJobAccepted(job, BASE),
      status: 'processing',
      end_time: null,
      completed_rows: 4,
      elapsed_time: 2
    })
    t.same(Object.keys(body).sort(), Object.keys(BackgroundJob.properties).sort(), 'exactly the schema fields')
    t.equal(toBackgroundJob(job, BASE, NOW + 3_000).elapsed_time, 3)
    t.equal(toBackgroundJob(job, BASE, NOW).elapsed_time, 0)
    t.equal(toBackgroundJob(job, BASE, NOW + 999).elapsed_time, 0)
    t.equal(toBackgroundJob(job, BASE, NOW - 5_000).elapsed_time, 0, 'never negative')
  })

  t.test('ended: end time as ISO, elapsed up to the end whatever now is', async (t) => {
    const job = storedJob({ status: 'completed', completedRows: 10, endTime: NOW + 61_500 })
    const body = toBackgroundJob(job, BASE, NOW + 3_600_000)
    t.equal(body.end_time, '2025-05-19T07:30:13.500Z')
    t.equal(body.elapsed_time, 61)
    t.equal(body.completed_rows, 10)
    t.equal(body.status, 'completed')
    t.equal(body.start_time, '2025-05-19T07:29:12.000Z')
    t.equal(toBackgroundJob(job, BASE, NOW).elapsed_time, 61, 'now before the end does not matter either')
  })

  t.test('times are ISO 8601 in UTC', async (t) => {
    const body = toBackgroundJob(storedJob({ endTime: NOW + 1 }), BASE, NOW)
    for (const field of ['start_time', 'submitted_at', 'end_time'] as const) {
      t.match(body[field], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, field)
    }
    t.equal(body.end_time, '2025-05-19T07:29:12.001Z')
  })
})

t.test('iso: ISO 8601 text of each time, the same when asked again', async (t) => {
  const first = Date.parse('2025-05-19T07:29:12.000Z')
  t.equal(iso(first), '2025-05-19T07:29:12.000Z')
  t.equal(iso(first), '2025-05-19T07:29:12.000Z', 'remembered')
  t.equal(iso(first + 1), '2025-05-19T07:29:12.001Z', 'a new time is formatted again')
  t.equal(iso(first), '2025-05-19T07:29:12.000Z', 'and the earlier one again after it')
  t.throws(() => iso(Number.NaN), RangeError, 'not a time: as Date#toISOString')
})
