import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { JobRunner } from '../../src/jobs/job-runner.js'
import { createJobRecord } from '../../src/jobs/jobs.js'
import { laneOf } from '../../src/jobs/lifecycle.js'
import type { ImportRow } from '../../src/imports/import-row.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { tenantOf } from '../../src/tenant.js'
import type { JobRecord } from '../../src/store/store.js'

// Bulk jobs and imports each run one at a time per key, side by side (SPEC 1.13).

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const TENANT = tenantOf('key-a')
const ROW: ImportRow = { eventType: 'track', eventName: 'e', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http-import', insertedAt: T0 - 1 }

function harness (t: Test, autoAdvance = true): { clock: ManualClock, store: MemoryStore, runner: JobRunner } {
  const clock = new ManualClock(T0)
  const store = new MemoryStore({ jobRetention: 1000 })
  const runner = new JobRunner({ store, clock, timing: { stageMs: 100 }, autoAdvance, onError: () => {} })
  t.teardown(async () => { await runner.close(); clock.dispose(); await store.close() })
  return { clock, store, runner }
}

function imported (clock: ManualClock): JobRecord {
  return createJobRecord({ tenant: TENANT, type: 'import', totalRows: 1, fileSize: 10, filename: 'history.csv', now: clock.now() })
}

/** A bulk job, then two imports, submitted now. */
async function submitThree (clock: ManualClock, runner: JobRunner): Promise<[JobRecord, JobRecord, JobRecord]> {
  const jobs: [JobRecord, JobRecord, JobRecord] = [createJobRecord({ tenant: TENANT, type: 'users', totalRows: 1, fileSize: 1, now: T0 }), imported(clock), imported(clock)]
  await runner.submit(jobs[0], [{ user_id: 'b1' }])
  await runner.submit(jobs[1], [ROW])
  await runner.submit(jobs[2], [ROW])
  return jobs
}

t.test('import jobs: their own id prefix and lane; a nameless upload gets a generated file name', async (t) => {
  const clock = new ManualClock(T0)
  const job = imported(clock)
  t.match(job.jobId, new RegExp(`^import:jobs:${TENANT.envId}:[0-9a-f-]{36}$`))
  t.equal(job.filename, 'history.csv')
  t.match(createJobRecord({ tenant: TENANT, type: 'import', totalRows: 1, fileSize: 1, now: T0 }).filename, /^import_[0-9a-f-]{36}\.json$/)
  t.equal(laneOf('import'), 'import')
  t.equal(laneOf('users'), 'bulk')
  t.equal(laneOf('companies'), 'bulk')
})

t.test('an import and a bulk job run at the same time; each lane wakes its own next job', async (t) => {
  const { clock, store, runner } = harness(t)
  const [bulk, first, second] = await submitThree(clock, runner)
  await clock.advance(100)
  t.equal((await store.getJob(TENANT.id, bulk.jobId))?.status, 'validating')
  t.equal((await store.getJob(TENANT.id, first.jobId))?.status, 'validating', 'the import did not wait for the bulk job')
  t.equal((await store.getJob(TENANT.id, second.jobId))?.status, 'queued', 'but the second import waits for the first')
  await clock.advance(300)
  t.equal((await store.getJob(TENANT.id, first.jobId))?.status, 'completed')
  t.equal((await store.getJob(TENANT.id, second.jobId))?.status, 'validating', 'woken when the first import ended')
  await clock.advance(400)
  t.equal((await store.getJob(TENANT.id, second.jobId))?.status, 'completed')
  t.equal((await store.events.list(TENANT.id, {}, { limit: 10, offset: 0 })).length, 2, 'each import row became an event')
})

t.test('manual clock: advance says which job of the lane is ahead; flush ends both lanes', async (t) => {
  const { clock, store, runner } = harness(t, false)
  const [bulk, first, second] = await submitThree(clock, runner)
  t.match(await runner.advance(TENANT.id, first.jobId), { ok: true, job: { status: 'validating' } }, 'not held up by the bulk job')
  t.match(await runner.advance(TENANT.id, second.jobId), { ok: false, reason: 'waiting', aheadJobId: first.jobId })
  t.equal(await runner.flush(TENANT.id), 3)
  for (const job of [bulk, first, second]) t.equal((await store.getJob(TENANT.id, job.jobId))?.status, 'completed')
})
