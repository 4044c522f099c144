import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { JobRunner } from '../../src/jobs/job-runner.js'
import { createJobRecord } from '../../src/jobs/jobs.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { tenantOf } from '../../src/tenant.js'
import type { JobStatus, JobType } from '../../schemas/jobs.js'
import type { JobRecord, JobRow } from '../../src/store/store.js'

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const ALL = { limit: 1000, offset: 0 }

interface Harness {
  clock: ManualClock
  store: MemoryStore
  runner: JobRunner
  errors: unknown[]
}

function harness (t: Test, stageMs = 200): Harness {
  const clock = new ManualClock(T0)
  const store = new MemoryStore({ jobRetention: 1000 })
  const errors: unknown[] = []
  const runner = new JobRunner({ store, clock, timing: { stageMs }, onError: (error) => { errors.push(error) } })
  t.teardown(async () => {
    await runner.close()
    clock.dispose()
    await store.close()
  })
  return { clock, store, runner, errors }
}

/** A new job submitted now: users u<prefix>0… or companies c<prefix>0…, each with metadata { job: prefix }. */
function newJob (clock: ManualClock, totalRows: number, prefix: string, key = 'key-a', type: JobType = 'users'): { job: JobRecord, rows: JobRow[] } {
  const job = createJobRecord({ tenant: tenantOf(key), type, totalRows, fileSize: 1, now: clock.now() })
  const rows: JobRow[] = Array.from({ length: totalRows }, (_, i) => type === 'users'
    ? { user_id: `u${i}`, metadata: { job: prefix } }
    : { company_id: `c${i}`, metadata: { job: prefix } })
  return { job, rows }
}

async function current (store: MemoryStore, job: JobRecord): Promise<JobRecord> {
  const found = await store.getJob(job.tenant, job.jobId)
  if (found === undefined) throw new Error(`job ${job.jobId} is gone`)
  return found
}

async function statuses (store: MemoryStore, jobs: JobRecord[]): Promise<JobStatus[]> {
  return Promise.all(jobs.map(async (job) => (await current(store, job)).status))
}

/** The history of a job that ran its four stages from `start`, queued since `queuedAt`. */
function ranFrom (queuedAt: number, start: number, stageMs = 200): JobRecord['history'] {
  return [
    { status: 'queued', at: queuedAt },
    { status: 'validating', at: start },
    { status: 'processing', at: start + stageMs },
    { status: 'pending_refresh', at: start + 2 * stageMs },
    { status: 'completed', at: start + 3 * stageMs }
  ]
}

t.test('a queued job waits, without a timer, while an older job of its tenant is active', async (t) => {
  const { clock, store, runner, errors } = harness(t)
  const one = newJob(clock, 4, 'one')
  const two = newJob(clock, 4, 'two', 'key-a', 'companies')
  t.same(await runner.submit(one.job, one.rows), { created: true })
  t.same(await runner.submit(two.job, two.rows), { created: true })
  t.equal(clock.pending, 2, 'each job starts with its queued timer')

  await clock.advance(200)
  t.same(await statuses(store, [one.job, two.job]), ['validating', 'queued'])
  t.equal(clock.pending, 1, 'only the running job holds a timer')
  await clock.advance(599)
  t.same(await statuses(store, [one.job, two.job]), ['pending_refresh', 'queued'])
  t.equal(clock.pending, 1)
  t.same(await store.profiles.listCompanies(one.job.tenant, ALL), [], 'nothing of the waiting job applied')

  await clock.advance(1)
  t.same(await statuses(store, [one.job, two.job]), ['completed', 'validating'], 'woken when the first one ends')
  t.equal(clock.pending, 1)
  await clock.advance(600)
  t.same((await current(store, one.job)).history, ranFrom(T0, T0 + 200))
  t.same((await current(store, two.job)).history, ranFrom(T0, T0 + 800))
  t.equal((await store.profiles.listCompanies(one.job.tenant, ALL)).length, 4)
  t.equal(clock.pending, 0)
  t.same(errors, [])
})

t.test('three jobs run one after another in submission order; each history shows its wait', async (t) => {
  const { clock, store, runner } = harness(t)
  const jobs = ['a', 'b', 'c'].map((prefix) => newJob(clock, 2, prefix))
  for (const { job, rows } of jobs) await runner.submit(job, rows)
  const records = jobs.map(({ job }) => job)
  const tenant = records[0]?.tenant as string
  const jobOfU0 = async () => (await store.profiles.getUser(tenant, 'u0'))?.metadata.job

  await clock.advance(800)
  t.same(await statuses(store, records), ['completed', 'validating', 'queued'])
  t.equal(await jobOfU0(), 'a')
  await clock.advance(399)
  t.same(await statuses(store, records), ['completed', 'processing', 'queued'])
  t.equal(await jobOfU0(), 'b', 'the second job writes over the first')
  await clock.advance(201)
  t.same(await statuses(store, records), ['completed', 'completed', 'validating'])
  t.equal(await jobOfU0(), 'b', 'the third has not started processing')
  await clock.runAll()
  t.equal(await jobOfU0(), 'c')
  t.same((await current(store, records[0] as JobRecord)).history, ranFrom(T0, T0 + 200))
  t.same((await current(store, records[1] as JobRecord)).history, ranFrom(T0, T0 + 800))
  t.same((await current(store, records[2] as JobRecord)).history, ranFrom(T0, T0 + 1400))
  t.equal(clock.now(), T0 + 2000)
})

t.test('a job woken before its own queued time is up still waits for the rest of it', async (t) => {
  const { clock, store, runner } = harness(t)
  const one = newJob(clock, 1, 'one')
  await runner.submit(one.job, one.rows)
  await clock.advance(700)
  const two = newJob(clock, 1, 'two')
  await runner.submit(two.job, two.rows)
  await clock.advance(100)
  t.same(await statuses(store, [one.job, two.job]), ['completed', 'queued'], 'woken at 800 ms, queued only since 700 ms')
  await clock.advance(99)
  t.equal((await current(store, two.job)).status, 'queued')
  await clock.advance(1)
  t.same((await current(store, two.job)).history, [{ status: 'queued', at: T0 + 700 }, { status: 'validating', at: T0 + 900 }])
})

t.test('a failed job is stepped past: the next one runs', async (t) => {
  const { clock, store, runner } = harness(t)
  const one = newJob(clock, 1, 'one')
  const two = newJob(clock, 1, 'two')
  await runner.submit(one.job, one.rows)
  await runner.submit(two.job, two.rows)
  await clock.advance(100)
  await store.transitionJob(one.job.tenant, one.job.jobId, 'queued', 'failed', clock.now())
  await clock.advance(100)
  t.same(await statuses(store, [one.job, two.job]), ['failed', 'validating'], 'the failed job had ended before the second one looked')
})

t.test('a job failed elsewhere while the next one waits without a timer', async (t) => {
  const { clock, store, runner } = harness(t)
  const one = newJob(clock, 1, 'one')
  const two = newJob(clock, 1, 'two')
  await runner.submit(one.job, one.rows)
  await runner.submit(two.job, two.rows)
  await clock.advance(300)
  t.equal(clock.pending, 1, 'precondition: the second job waits without a timer')
  await store.transitionJob(one.job.tenant, one.job.jobId, 'validating', 'failed', clock.now())
  await clock.advance(10_000)
  t.equal((await current(store, two.job)).status, 'completed', 'the second job runs')
})

t.test('jobs of different tenants run in parallel', async (t) => {
  const { clock, store, runner } = harness(t)
  const a1 = newJob(clock, 2, 'a1', 'key-a')
  const a2 = newJob(clock, 2, 'a2', 'key-a')
  const b1 = newJob(clock, 2, 'b1', 'key-b', 'companies')
  for (const { job, rows } of [a1, a2, b1]) await runner.submit(job, rows)
  await clock.advance(200)
  t.same(await statuses(store, [a1.job, a2.job, b1.job]), ['validating', 'queued', 'validating'])
  t.equal(clock.pending, 2, 'one timer per running job')
  await clock.advance(600)
  t.same(await statuses(store, [a1.job, a2.job, b1.job]), ['completed', 'validating', 'completed'])
  await clock.runAll()
  t.same((await current(store, b1.job)).history, ranFrom(T0, T0 + 200))
  t.same((await current(store, a2.job)).history, ranFrom(T0, T0 + 800))
})

t.test('exclusive: a refused job is neither stored nor scheduled', async (t) => {
  const { clock, store, runner } = harness(t)
  const one = newJob(clock, 1, 'one')
  const two = newJob(clock, 1, 'two')
  t.same(await runner.submit(one.job, one.rows, { exclusive: true }), { created: true })
  t.same(await runner.submit(two.job, two.rows, { exclusive: true }), { created: false, activeJobId: one.job.jobId })
  t.equal(clock.pending, 1)
  t.equal(await store.getJob(two.job.tenant, two.job.jobId), undefined)
  await clock.runAll()
  t.equal((await current(store, one.job)).status, 'completed')
  t.same(await runner.submit(two.job, two.rows, { exclusive: true }), { created: true }, 'accepted once the first has ended')
})
