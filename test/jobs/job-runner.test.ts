import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { DEFAULT_CHUNK_ROWS, DEFAULT_SLICE_MS, JobRunner, progressTick, RETRY_MS, stageDuration, type JobTiming } from '../../src/jobs/job-runner.js'
import { createJobRecord } from '../../src/jobs/jobs.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { tenantOf } from '../../src/tenant.js'
import type { JobStatus } from '../../schemas/jobs.js'
import type { JobRecord, JobRow } from '../../src/store/store.js'

const T0 = Date.parse('2025-05-19T07:29:12.000Z')

/** A ManualClock that counts (and can act on) each return to the event loop. */
class CountingClock extends ManualClock {
  yields = 0
  onYield: (() => void | Promise<void>) | undefined

  override async yield (): Promise<void> {
    this.yields++
    await this.onYield?.()
    await super.yield()
  }
}

/** A MemoryStore that records applyRows calls and can fail or hold steps. */
class SpyStore extends MemoryStore {
  readonly applyCounts: number[] = []
  getJobFailures = 0
  applyFailures = 0
  beforeApply: (() => void | Promise<void>) | undefined
  beforeTransition: ((tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number) => void | Promise<void>) | undefined

  override async getJob (tenant: string, jobId: string): Promise<JobRecord | undefined> {
    if (this.getJobFailures > 0) {
      this.getJobFailures--
      throw new Error('store unavailable')
    }
    return await super.getJob(tenant, jobId)
  }

  override async applyRows (tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined> {
    this.applyCounts.push(count)
    if (this.applyFailures > 0) {
      this.applyFailures--
      throw new Error('apply failed')
    }
    await this.beforeApply?.()
    return await super.applyRows(tenant, jobId, count, at)
  }

  override async transitionJob (tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined> {
    await this.beforeTransition?.(tenant, jobId, from, to, at)
    return await super.transitionJob(tenant, jobId, from, to, at)
  }

  runNowCalls = 0
  runNowFailures = 0
  beforeRunNow: (() => Promise<void>) | undefined

  override async runJobNow (tenant: string, jobId: string, at: number): Promise<JobRecord | undefined> {
    this.runNowCalls++
    if (this.runNowFailures > 0) {
      this.runNowFailures--
      throw new Error('run failed')
    }
    await this.beforeRunNow?.()
    return await super.runJobNow(tenant, jobId, at)
  }
}

/** The store as a backend without runJobNow (Redis) is to the runner: jobs of 0-ms stages go a stage at a time. */
function stageByStage (store: SpyStore): SpyStore {
  Object.defineProperty(store, 'runJobNow', { value: undefined })
  return store
}

interface Harness {
  clock: CountingClock
  store: SpyStore
  runner: JobRunner
  errors: Array<{ error: unknown, job: { tenant: string, jobId: string } }>
}

// sliceMs 0 by default here: the event loop is given back after every chunk, whatever this machine's speed.
function harness (t: Test, timing: JobTiming = { stageMs: 200 }, chunkRows?: number, sliceMs = 0): Harness {
  const clock = new CountingClock(T0)
  const store = new SpyStore({ jobRetention: 1000 })
  const errors: Harness['errors'] = []
  const runner = new JobRunner({ store, clock, timing, chunkRows, sliceMs, onError: (error, job) => { errors.push({ error, job }) } })
  t.teardown(async () => {
    await runner.close()
    clock.dispose()
    await store.close()
  })
  return { clock, store, runner, errors }
}

/** A new job of `totalRows` rows submitted now, with users u0, u1, … */
function newJob (clock: ManualClock, totalRows: number, key = 'test-key-1'): { job: JobRecord, rows: JobRow[] } {
  const job = createJobRecord({ tenant: tenantOf(key), type: 'users', totalRows, fileSize: 1, now: clock.now() })
  const rows = Array.from({ length: totalRows }, (_, i) => ({ user_id: `u${i}`, metadata: { i } }))
  return { job, rows }
}

async function current (store: MemoryStore, job: JobRecord): Promise<JobRecord> {
  const found = await store.getJob(job.tenant, job.jobId)
  if (found === undefined) throw new Error(`job ${job.jobId} is gone`)
  return found
}

async function userIds (store: MemoryStore, job: JobRecord): Promise<string[]> {
  return (await store.profiles.listUsers(job.tenant, { limit: 1_000_000, offset: 0 })).map((user) => user.userId)
}

function firstIds (n: number): string[] {
  return Array.from({ length: n }, (_, i) => `u${i}`)
}

t.test('stageDuration', async (t) => {
  t.equal(stageDuration('queued', 600, { stageMs: 200 }), 200)
  t.equal(stageDuration('processing', 600, { stageMs: 200 }), 200, 'no rate: processing lasts stageMs too')
  t.equal(stageDuration('processing', 600, { stageMs: 200, rowsPerMin: 1200 }), 30_000, '600 rows at 1200 rows/min: 30 s')
  t.equal(stageDuration('processing', 601, { stageMs: 200, rowsPerMin: 1200 }), 30_050)
  t.equal(stageDuration('processing', 1, { stageMs: 200, rowsPerMin: 7 }), 8572, 'rounded up to a whole millisecond')
  t.equal(stageDuration('processing', 0, { stageMs: 200, rowsPerMin: 1200 }), 0)
  for (const stage of ['queued', 'validating', 'pending_refresh'] as const) {
    t.equal(stageDuration(stage, 600, { stageMs: 200, rowsPerMin: 1200 }), 200, `${stage} keeps stageMs with a rate`)
  }
  t.equal(stageDuration('processing', 600, { stageMs: 0, rowsPerMin: undefined }), 0)
})

t.test('progressTick: about 20 steps a stage, 10 ms to 1 s apart', async (t) => {
  t.equal(progressTick(0), 10, 'lower bound')
  t.equal(progressTick(100), 10)
  t.equal(progressTick(200), 10)
  t.equal(progressTick(201), 11, 'rounded up')
  t.equal(progressTick(400), 20)
  t.equal(progressTick(19_970), 999)
  t.equal(progressTick(19_990), 1000)
  t.equal(progressTick(30_000), 1000, 'upper bound')
  t.equal(progressTick(86_400_000), 1000)
  for (const duration of [1, 7, 333, 5_000, 123_456]) {
    const tick = progressTick(duration)
    t.ok(tick >= 10 && tick <= 1000 && Number.isInteger(tick), `${duration} → ${tick}`)
  }
})

t.test('constants', async (t) => {
  t.equal(DEFAULT_CHUNK_ROWS, 500)
  t.equal(DEFAULT_SLICE_MS, 8)
  t.equal(RETRY_MS, 1000)
})

t.test('full lifecycle: each transition at its virtual time', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 100)
  await runner.submit(job, rows)
  const status = async (): Promise<JobStatus> => (await current(store, job)).status

  t.equal(await status(), 'queued')
  t.equal(clock.pending, 1, 'one timer for the job')
  await clock.advance(199)
  t.equal(await status(), 'queued', 'not before 200 ms')
  await clock.advance(1)
  t.equal(await status(), 'validating')
  await clock.advance(199)
  t.equal(await status(), 'validating')
  await clock.advance(1)
  t.equal(await status(), 'processing')
  t.equal((await current(store, job)).completedRows, 0, 'no rows at the start of processing')
  await clock.advance(100)
  t.equal((await current(store, job)).completedRows, 50, 'half the rows half way')
  await clock.advance(99)
  t.equal(await status(), 'processing')
  t.equal((await current(store, job)).completedRows, 95, 'the last tick before the end')
  await clock.advance(1)
  t.equal(await status(), 'pending_refresh')
  t.equal((await current(store, job)).completedRows, 100)
  await clock.advance(199)
  t.equal(await status(), 'pending_refresh')
  await clock.advance(1)

  const done = await current(store, job)
  t.strictSame(done.history, [
    { status: 'queued', at: T0 },
    { status: 'validating', at: T0 + 200 },
    { status: 'processing', at: T0 + 400 },
    { status: 'pending_refresh', at: T0 + 600 },
    { status: 'completed', at: T0 + 800 }
  ])
  t.equal(done.status, 'completed')
  t.equal(done.endTime, T0 + 800)
  t.equal(done.completedRows, 100)
  t.equal(clock.pending, 0, 'no timer left')
  t.same(errors, [])
  t.same(await userIds(store, job), firstIds(100))
  t.equal((await store.profiles.getUser(job.tenant, 'u99'))?.lastTouch.id, job.jobId)
  await clock.advance(10_000)
  t.equal((await current(store, job)).history.length, 5, 'nothing happens after the end')
})

t.test('completed_rows rises in proportion to time, rows applied in order', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 1000)
  await runner.submit(job, rows)
  await clock.advance(400)
  t.equal((await current(store, job)).status, 'processing')
  let previous = 0
  for (let elapsed = 10; elapsed < 200; elapsed += 10) {
    await clock.advance(5)
    t.equal((await current(store, job)).completedRows, previous, `no change between ticks (${elapsed - 5} ms)`)
    await clock.advance(5)
    const expected = Math.floor(1000 * elapsed / 200)
    const now = await current(store, job)
    t.equal(now.completedRows, expected, `${expected} rows after ${elapsed} ms`)
    t.same(await userIds(store, job), firstIds(expected), 'exactly the first rows, in order')
    t.equal((await store.profiles.getUser(job.tenant, `u${expected - 1}`))?.updatedAt, clock.now(), 'applied at the tick')
    previous = expected
  }
  await clock.advance(10)
  const ended = await current(store, job)
  t.equal(ended.completedRows, 1000)
  t.equal(ended.status, 'pending_refresh')
})

t.test('chunking: a 10,000-row job in chunks of 500 with the event loop given back between', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 0 }, 500)
  const { job, rows } = newJob(clock, 10_000)
  const seenAtYield: number[] = []
  clock.onYield = async () => { seenAtYield.push((await current(store, job)).completedRows) }
  await runner.submit(job, rows)
  await clock.advance(0)

  t.equal(store.applyCounts.length, Math.ceil(10_000 / 500), 'one applyRows call per chunk')
  t.ok(store.applyCounts.every((count) => count <= 500), 'no call gets more than chunkRows')
  t.equal(store.applyCounts.reduce((sum, count) => sum + count, 0), 10_000)
  t.equal(clock.yields, Math.ceil(10_000 / 500) - 1, 'a yield between each two chunks')
  t.same(seenAtYield, Array.from({ length: 19 }, (_, i) => 500 * (i + 1)), 'each chunk is stored before the yield')
  t.equal((await current(store, job)).status, 'completed')
  t.equal((await current(store, job)).completedRows, 10_000)
})

t.test('slicing: chunks go on without a yield until the slice of work is spent', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 0 }, 500, 60_000)
  const { job, rows } = newJob(clock, 10_000)
  await runner.submit(job, rows)
  await clock.advance(0)
  t.equal(store.applyCounts.length, 20, 'still one applyRows call per chunk')
  t.equal(clock.yields, 1, 'one yield, after the first chunk (no slice had begun); then none: 10,000 rows take far less than the slice')
  t.equal((await current(store, job)).status, 'completed')
})

t.test('slicing: jobs run back to back (flush) share one slice, so a flush of many jobs still gives the loop back', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200 }, 500, 60_000)
  const first = newJob(clock, 10_000, 'key-a')
  const second = newJob(clock, 10_000, 'key-b')
  await runner.submit(first.job, first.rows)
  await runner.submit(second.job, second.rows)
  t.equal(await runner.flush(null), 2)
  t.equal(store.applyCounts.length, 40)
  t.equal(clock.yields, 1, 'one yield for both jobs: the second job goes on in the slice the first began')
  t.same([(await current(store, first.job)).status, (await current(store, second.job)).status], ['completed', 'completed'])
})

t.test('chunking: a remainder makes one more, smaller chunk', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 0 }, 500)
  const { job, rows } = newJob(clock, 10_001)
  await runner.submit(job, rows)
  await clock.advance(0)
  t.equal(store.applyCounts.length, Math.ceil(10_001 / 500))
  t.equal(store.applyCounts.at(-1), 1)
  t.equal(clock.yields, 20)
  t.equal((await current(store, job)).completedRows, 10_001)
})

t.test('chunking: each progress step splits the rows due into chunks', async (t) => {
  // 10,000 rows over 200 ms, a step every 10 ms: 500 rows due a step, in chunks of 300 and 200.
  const { clock, store, runner } = harness(t, { stageMs: 200 }, 300)
  const { job, rows } = newJob(clock, 10_000)
  await runner.submit(job, rows)
  await clock.advance(400)
  t.same(store.applyCounts, [], 'nothing applied before processing')
  await clock.advance(10)
  t.same(store.applyCounts, [300, 200], 'the first step')
  t.equal(clock.yields, 1)
  await clock.advance(190)
  t.equal(store.applyCounts.length, 40, '20 steps of two chunks')
  t.ok(store.applyCounts.every((count) => count <= 300))
  t.equal(clock.yields, 20, 'one yield a step')
  t.equal((await current(store, job)).status, 'pending_refresh')
})

t.test('the default chunk is 500 rows', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 0 })
  const { job, rows } = newJob(clock, 1001)
  await runner.submit(job, rows)
  await clock.advance(0)
  t.same(store.applyCounts, [DEFAULT_CHUNK_ROWS, DEFAULT_CHUNK_ROWS, 1])
})

for (const inOneCall of [true, false]) {
  t.test(`stageMs 0: a job of one chunk runs to its end in submit, with no timer, ${inOneCall ? 'in one store call (runJobNow)' : 'a stage at a time (a store without runJobNow)'}`, async (t) => {
    const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 3)
    if (!inOneCall) stageByStage(store)
    const { job, rows } = newJob(clock, 3)
    t.same(await runner.submit(job, rows), { created: true })
    t.equal(clock.pending, 0, 'no timer was set')
    const done = await current(store, job)
    t.equal(done.status, 'completed')
    t.same(done.history.map((change) => change.status), ['queued', 'validating', 'processing', 'pending_refresh', 'completed'])
    t.same(done.history.map((change) => change.at), [T0, T0, T0, T0, T0])
    t.equal(done.completedRows, 3)
    t.match(await store.profiles.getUser(job.tenant, 'u2'), { userId: 'u2', metadata: { i: 2 }, lastTouch: { kind: 'job', id: job.jobId } }, 'its rows were applied')
    t.equal(job.status, 'queued', "the caller's record (the 202) is left as submitted")
    t.same([store.runNowCalls, store.applyCounts], inOneCall ? [1, []] : [0, [3]])
    t.same(errors, [])
  })
}

t.test('stageMs 0: a job told to fail at a stage fails there in its submit, its rows applied only past processing', async (t) => {
  for (const [failAt, applied] of [['queued', 0], ['processing', 0], ['pending_refresh', 3]] as const) {
    const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 3)
    const { job, rows } = newJob(clock, 3)
    await runner.submit({ ...job, failAt }, rows)
    const failed = await current(store, job)
    t.equal(failed.status, 'failed', `failAt ${failAt}`)
    t.equal(failed.history.at(-2)?.status, failAt)
    t.equal(failed.completedRows, applied)
    t.equal(clock.pending, 0)
    t.same(errors, [])
  }
})

t.test('stageMs 0: a job told to fail at queued fails at once even behind another job, which goes on', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 3)
  const first = newJob(clock, 4)
  const second = newJob(clock, 2)
  await runner.submit(first.job, first.rows)
  await runner.submit({ ...second.job, failAt: 'queued' }, second.rows)
  t.same((await current(store, second.job)).history.map((change) => change.status), ['queued', 'failed'])
  t.equal((await current(store, first.job)).status, 'queued')
  await clock.advance(0)
  t.equal((await current(store, first.job)).status, 'completed')
  t.same(errors, [])
})

t.test('stageMs 0: a job queued behind another waits for it, then runs on its own timer', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 3)
  const first = newJob(clock, 4)
  const second = newJob(clock, 2)
  await runner.submit(first.job, first.rows)
  await runner.submit(second.job, second.rows)
  t.equal((await current(store, first.job)).status, 'queued', 'more rows than a chunk: left to the clock')
  t.equal((await current(store, second.job)).status, 'queued', 'behind the first')
  await clock.advance(0)
  t.equal((await current(store, first.job)).status, 'completed')
  t.equal((await current(store, second.job)).status, 'completed')
  t.same(errors, [])
})

t.test('stageMs 0 and more rows than a chunk: runs to completion on advance(0)', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 2)
  const { job, rows } = newJob(clock, 3)
  await runner.submit(job, rows)
  t.equal((await current(store, job)).status, 'queued', 'nothing before the clock moves')
  await clock.advance(0)
  const done = await current(store, job)
  t.equal(done.status, 'completed')
  t.same(done.history.map((change) => change.at), [T0, T0, T0, T0, T0])
  t.same(done.history.map((change) => change.status), ['queued', 'validating', 'processing', 'pending_refresh', 'completed'])
  t.equal(done.endTime, T0)
  t.equal(done.completedRows, 3)
  t.equal(clock.now(), T0)
  t.equal(clock.pending, 0)
  t.same(errors, [])
})

t.test('rowsPerMin: processing lasts as the real service would, other stages keep stageMs', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200, rowsPerMin: 1200 })
  const { job, rows } = newJob(clock, 600)
  await runner.submit(job, rows)
  await clock.advance(400)
  t.equal((await current(store, job)).status, 'processing')
  await clock.advance(1000)
  t.equal((await current(store, job)).completedRows, 20, 'one step a second: 20 rows')
  await clock.advance(14_000)
  t.equal((await current(store, job)).completedRows, 300, 'half way after 15 s')
  await clock.advance(14_999)
  t.equal((await current(store, job)).status, 'processing', 'still processing just before 30 s')
  t.equal((await current(store, job)).completedRows, 580)
  await clock.advance(1)
  t.equal((await current(store, job)).status, 'pending_refresh')
  await clock.advance(200)
  const done = await current(store, job)
  t.strictSame(done.history, [
    { status: 'queued', at: T0 },
    { status: 'validating', at: T0 + 200 },
    { status: 'processing', at: T0 + 400 },
    { status: 'pending_refresh', at: T0 + 30_400 },
    { status: 'completed', at: T0 + 30_600 }
  ])
})

t.test('a processing stage shorter than a tick ends on time', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 5 })
  const { job, rows } = newJob(clock, 100)
  await runner.submit(job, rows)
  await clock.advance(10)
  t.equal((await current(store, job)).status, 'processing')
  await clock.advance(4)
  t.equal((await current(store, job)).completedRows, 0)
  await clock.advance(1)
  const job2 = await current(store, job)
  t.equal(job2.status, 'pending_refresh')
  t.equal(job2.completedRows, 100)
  t.same(job2.history.at(-1), { status: 'pending_refresh', at: T0 + 15 })
})

t.test('the last progress step is cut short to end exactly on time', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 25 })
  const { job, rows } = newJob(clock, 100)
  await runner.submit(job, rows)
  await clock.advance(60)
  t.equal((await current(store, job)).completedRows, 40, '10 of 25 ms')
  await clock.advance(10)
  t.equal((await current(store, job)).completedRows, 80, '20 of 25 ms')
  await clock.advance(4)
  t.equal((await current(store, job)).status, 'processing')
  await clock.advance(1)
  t.same((await current(store, job)).history.at(-1), { status: 'pending_refresh', at: T0 + 75 })
})

t.test('a job failed mid-processing gets no further rows and the runner stops', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 1000)
  await runner.submit(job, rows)
  await clock.advance(450)
  t.equal((await current(store, job)).completedRows, 250)
  const calls = store.applyCounts.length
  const failed = await store.transitionJob(job.tenant, job.jobId, 'processing', 'failed', clock.now())
  t.equal(failed?.status, 'failed')
  await clock.advance(10_000)
  const after = await current(store, job)
  t.equal(store.applyCounts.length, calls, 'applyRows never called again')
  t.equal(after.status, 'failed')
  t.equal(after.completedRows, 250)
  t.equal(after.endTime, T0 + 450)
  t.equal((await userIds(store, job)).length, 250)
  t.equal(clock.pending, 0, 'no timer left for it')
  t.same(errors, [])
})

t.test('a job failed between two chunks stops at the chunk it was in', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 500)
  const { job, rows } = newJob(clock, 2000)
  clock.onYield = async () => {
    clock.onYield = undefined
    await store.transitionJob(job.tenant, job.jobId, 'processing', 'failed', clock.now())
  }
  await runner.submit(job, rows)
  await clock.advance(0)
  const after = await current(store, job)
  t.equal(after.status, 'failed')
  t.equal(after.completedRows, 500)
  t.same(await userIds(store, job), firstIds(500))
  t.equal(clock.pending, 0)
  t.same(errors, [])
})

t.test('a job moved on by another mover while processing is left to that mover', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 0 }, 500)
  const { job, rows } = newJob(clock, 1000)
  clock.onYield = async () => {
    clock.onYield = undefined
    await store.transitionJob(job.tenant, job.jobId, 'processing', 'pending_refresh', clock.now())
  }
  await runner.submit(job, rows)
  await clock.advance(0)
  const after = await current(store, job)
  t.equal(after.status, 'pending_refresh')
  t.equal(after.history.filter((change) => change.status === 'pending_refresh').length, 1, 'the runner did not move it again')
  t.equal(clock.pending, 0, 'the runner keeps no timer for it')
  t.same(errors, [])
})

t.test('a lost compare-and-set stops the runner quietly', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 10)
  store.beforeTransition = async (tenant, jobId, from, to, at) => {
    store.beforeTransition = undefined
    // Another mover wins the race to the same transition.
    await store.transitionJob(tenant, jobId, from, to, at - 1)
  }
  await runner.submit(job, rows)
  await clock.advance(200)
  const after = await current(store, job)
  t.same(after.history, [{ status: 'queued', at: T0 }, { status: 'validating', at: T0 + 199 }], 'only the winner moved it')
  t.equal(clock.pending, 0)
  t.same(errors, [])
})

t.test('every step re-reads the job, so a move made elsewhere shifts the timeline', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 10)
  await runner.submit(job, rows)
  await clock.advance(50)
  await store.transitionJob(job.tenant, job.jobId, 'queued', 'validating', clock.now())
  await clock.advance(150)
  t.equal((await current(store, job)).status, 'validating', 'at 200 ms validating has lasted only 150 ms')
  t.equal(clock.pending, 1, 'the runner waits for the rest of the stage')
  await clock.advance(49)
  t.equal((await current(store, job)).status, 'validating')
  await clock.advance(1)
  t.same((await current(store, job)).history.at(-1), { status: 'processing', at: T0 + 250 })
})

t.test('a failing step is reported with its job and retried after RETRY_MS', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 10)
  await runner.submit(job, rows)
  store.getJobFailures = 1
  await clock.advance(200)
  t.equal(errors.length, 1)
  t.match(errors[0]?.error, { message: 'store unavailable' })
  t.strictSame(errors[0]?.job, { tenant: job.tenant, jobId: job.jobId })
  t.equal((await current(store, job)).status, 'queued', 'the step did not happen')
  t.equal(clock.pending, 1, 'a retry is scheduled')
  await clock.advance(RETRY_MS - 1)
  t.equal((await current(store, job)).status, 'queued')
  await clock.advance(1)
  t.same((await current(store, job)).history.at(-1), { status: 'validating', at: T0 + 200 + RETRY_MS })
  await clock.runAll()
  t.equal((await current(store, job)).status, 'completed')
  t.equal(errors.length, 1, 'no further errors')
})

t.test('a failed chunk is retried and catches up with the rows due', async (t) => {
  const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
  const { job, rows } = newJob(clock, 1000)
  await runner.submit(job, rows)
  await clock.advance(440)
  t.equal((await current(store, job)).completedRows, 200)
  store.applyFailures = 1
  await clock.advance(10)
  t.equal(errors.length, 1)
  t.match(errors[0]?.error, { message: 'apply failed' })
  t.equal((await current(store, job)).completedRows, 200, 'nothing applied by the failed step')
  await clock.advance(RETRY_MS)
  const after = await current(store, job)
  t.equal(after.completedRows, 1000, 'the retry applies everything due by then')
  t.same(after.history.at(-1), { status: 'pending_refresh', at: T0 + 450 + RETRY_MS })
})

t.test('jobs of different tenants run on their own timelines', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200 })
  const a = newJob(clock, 5, 'key-a')
  await runner.submit(a.job, a.rows)
  await clock.advance(100)
  const b = newJob(clock, 7, 'key-b')
  await runner.submit(b.job, b.rows)
  t.equal(clock.pending, 2)
  await clock.advance(100)
  t.equal((await current(store, a.job)).status, 'validating')
  t.equal((await current(store, b.job)).status, 'queued')
  await clock.advance(100)
  t.equal((await current(store, b.job)).status, 'validating')
  await clock.runAll()
  t.equal((await current(store, a.job)).endTime, T0 + 800)
  t.equal((await current(store, b.job)).endTime, T0 + 900)
  t.same(await userIds(store, a.job), firstIds(5))
  t.same(await userIds(store, b.job), firstIds(7))
})

t.test('close() clears every timer and stops the jobs', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 200 })
  const a = newJob(clock, 5)
  const b = newJob(clock, 5)
  await runner.submit(a.job, a.rows)
  await runner.submit(b.job, b.rows)
  t.equal(clock.pending, 2)
  await runner.close()
  t.equal(clock.pending, 0)
  await clock.advance(10_000)
  t.equal((await current(store, a.job)).status, 'queued')
  t.equal((await current(store, b.job)).status, 'queued')
  const late = newJob(clock, 1)
  await runner.submit(late.job, late.rows)
  t.equal((await current(store, late.job)).status, 'queued', 'a job submitted after close is stored')
  t.equal(clock.pending, 0, 'but never scheduled')
})

/** Holds the store's next applyRows (or runJobNow) until `release()`; `inApply` settles once it is held. */
function holdApply (store: SpyStore, hook: 'beforeApply' | 'beforeRunNow' = 'beforeApply'): { inApply: Promise<void>, release: () => void } {
  let release: () => void = () => {}
  let entered: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const inApply = new Promise<void>((resolve) => { entered = resolve })
  store[hook] = async () => {
    entered()
    await gate
  }
  return { inApply, release }
}

/** Calls close() while a step is held, checks that it waits, and gives back its promise. */
async function closeWhileBusy (t: Test, runner: JobRunner): Promise<{ closing: Promise<void> }> {
  let closed = false
  const closing = runner.close().then(() => { closed = true })
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(closed, false, 'close() is waiting for the step')
  return { closing }
}

t.test('close() waits for the steps under way and schedules nothing after', async (t) => {
  const { clock, store, runner } = harness(t, { stageMs: 0 }, 5)
  const { job, rows } = newJob(clock, 10)
  const { inApply, release } = holdApply(store)
  await runner.submit(job, rows)
  const advancing = clock.advance(0)
  await inApply
  const { closing } = await closeWhileBusy(t, runner)
  t.equal((await current(store, job)).completedRows, 0)
  release()
  await closing
  const after = await current(store, job)
  t.equal(after.completedRows, 10, 'the step under way finished')
  t.equal(after.status, 'pending_refresh', 'its own transition went through')
  await advancing
  t.equal(clock.pending, 0, 'but the next stage was not scheduled')
  await clock.advance(10_000)
  t.equal((await current(store, job)).status, 'pending_refresh')
})

for (const inOneCall of [true, false]) {
  t.test(`close() waits for a job carried in its submit ${inOneCall ? 'in one store call' : 'a stage at a time'}`, async (t) => {
    const { clock, store, runner } = harness(t, { stageMs: 0 })
    if (!inOneCall) stageByStage(store)
    const { job, rows } = newJob(clock, 2)
    const { inApply, release } = holdApply(store, inOneCall ? 'beforeRunNow' : 'beforeApply')
    const submitting = runner.submit(job, rows)
    await inApply
    const { closing } = await closeWhileBusy(t, runner)
    release()
    t.same(await submitting, { created: true })
    await closing
    const after = await current(store, job)
    t.equal(after.completedRows, 2, 'the step under way finished')
    // A stage at a time, the runner stops between stages once closing; one call is never cut.
    t.equal(after.status, inOneCall ? 'completed' : 'pending_refresh')
    t.equal(clock.pending, 0)
  })
}

for (const inOneCall of [true, false]) {
  t.test(`a job carried in its submit whose ${inOneCall ? 'store call' : 'step'} fails is still created, reported and retried after RETRY_MS`, async (t) => {
    const { clock, store, runner, errors } = harness(t, { stageMs: 0 })
    const { job, rows } = newJob(clock, 2)
    if (inOneCall) store.runNowFailures = 1
    else stageByStage(store).applyFailures = 1
    t.same(await runner.submit(job, rows), { created: true }, 'the request that made it is not failed by its step')
    t.equal(errors.length, 1)
    t.match(errors[0]?.error, { message: inOneCall ? 'run failed' : 'apply failed' })
    t.strictSame(errors[0]?.job, { tenant: job.tenant, jobId: job.jobId })
    const stuckAt = inOneCall ? 'queued' : 'processing'
    t.equal((await current(store, job)).status, stuckAt)
    await clock.advance(RETRY_MS - 1)
    t.equal((await current(store, job)).status, stuckAt)
    await clock.advance(1)
    const done = await current(store, job)
    t.equal(done.status, 'completed')
    t.equal(done.completedRows, 2)
    t.equal(errors.length, 1, 'no further errors')
  })
}

t.test('a job that disappears from the store stops quietly', async (t) => {
  t.test('while waiting in a stage', async (t) => {
    const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
    const { job, rows } = newJob(clock, 10)
    await runner.submit(job, rows)
    await clock.advance(100)
    await store.close()
    await clock.advance(1000)
    t.equal(await store.getJob(job.tenant, job.jobId), undefined)
    t.equal(clock.pending, 0)
    t.same(errors, [])
  })

  t.test('while processing', async (t) => {
    const { clock, store, runner, errors } = harness(t, { stageMs: 200 })
    const { job, rows } = newJob(clock, 100)
    await runner.submit(job, rows)
    await clock.advance(450)
    t.equal((await current(store, job)).completedRows, 25)
    const calls = store.applyCounts.length
    await store.close()
    await clock.advance(1000)
    t.equal(store.applyCounts.length, calls, 'nothing more applied')
    t.equal(clock.pending, 0)
    t.same(errors, [])
  })
})

t.test('remainingMs: what is left of the stage, then the stages to come; 0 once ended or gone', async (t) => {
  const { clock, runner } = harness(t, { stageMs: 200, rowsPerMin: 600 })
  const { job, rows } = newJob(clock, 10)
  await runner.submit(job, rows)
  t.equal(runner.remainingMs(job, clock.now()), 200 + 200 + 1000 + 200, 'queued, validating, processing (10 rows at 600/min), pending_refresh')
  await clock.advance(300)
  t.equal(runner.remainingMs({ ...job, status: 'validating', history: [...job.history, { status: 'validating', at: T0 + 200 }] }, clock.now()), 100 + 1000 + 200, 'half of validating gone')
  t.equal(runner.remainingMs({ ...job, status: 'completed' }, clock.now()), 0)
  t.equal(runner.remainingMs(undefined, clock.now()), 0, 'a job gone meanwhile')
})
