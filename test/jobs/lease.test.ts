import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { JobRunner } from '../../src/jobs/job-runner.js'
import { leasesOf, sweepInterval, type JobLeases, type JobRef } from '../../src/jobs/lease.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { jobRecord } from '../helpers/store.js'

// The runner's side of leases, against a fake lease table, so that every
// branch is driven by the ManualClock: the Redis leases themselves are
// tested in test/redis/.

const A = 'tenant-a'
const STAGE = 2000
const SWEEP = sweepInterval(3000)

/** Leases held in a map; `owner` says who holds each job (this runner is 'me'). */
class FakeLeases implements JobLeases {
  readonly leaseMs = 3000
  readonly owners = new Map<string, string>()
  readonly released: JobRef[] = []
  failSweep = false
  failRelease = false
  /** Set to hold the next acquire until the promise's resolver is called. */
  gate: Promise<void> | undefined

  constructor (readonly store: MemoryStore) {}

  async acquire (job: JobRef): Promise<boolean> {
    if (this.gate !== undefined) await this.gate
    const owner = this.owners.get(job.jobId)
    if (owner !== undefined && owner !== 'me') return false
    this.owners.set(job.jobId, 'me')
    return true
  }

  /** Another replica's sweep taking a job's lease, if nobody holds it. */
  takeAs (owner: string, job: JobRef): boolean {
    if (this.owners.has(job.jobId)) return false
    this.owners.set(job.jobId, owner)
    return true
  }

  async release (job: JobRef): Promise<void> {
    this.released.push(job)
    if (this.failRelease) throw new Error('store away')
    this.owners.delete(job.jobId)
  }

  async activeJobs (): Promise<JobRef[]> {
    if (this.failSweep) throw new Error('store away')
    const job = await this.store.oldestActiveJob(A)
    return job === undefined ? [] : [{ tenant: job.tenant, jobId: job.jobId }]
  }
}

function setup (t: Test, autoAdvance = true): { store: MemoryStore, clock: ManualClock, leases: FakeLeases, runner: JobRunner, errors: Array<{ jobId: string }> } {
  const store = new MemoryStore({ jobRetention: 10 })
  const clock = new ManualClock()
  const leases = new FakeLeases(store)
  const errors: Array<{ jobId: string }> = []
  const runner = new JobRunner({ store, clock, leases, autoAdvance, timing: { stageMs: STAGE }, onError: (_error, job) => errors.push(job) })
  t.teardown(() => runner.close())
  return { store, clock, leases, runner, errors }
}

t.test('sweepInterval: a few times per lease, never below 50 ms', async (t) => {
  t.equal(sweepInterval(3000), 1000)
  t.equal(sweepInterval(60), 50)
})

t.test('leasesOf: only a store that has leases', async (t) => {
  t.equal(leasesOf(new MemoryStore({ jobRetention: 1 })), undefined)
  const leases = new FakeLeases(new MemoryStore({ jobRetention: 1 }))
  t.equal(leasesOf(Object.assign(new MemoryStore({ jobRetention: 1 }), { leases })), leases)
})

t.test('a job held by another replica is left alone; it moves once the lease is free', async (t) => {
  const { store, clock, leases, runner } = setup(t)
  leases.owners.set('j1', 'other')
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(5 * STAGE)
  t.equal((await store.getJob(A, 'j1'))?.status, 'queued', 'not moved: another replica holds it')
  leases.owners.delete('j1')
  await clock.advance(SWEEP)
  t.equal((await store.getJob(A, 'j1'))?.status, 'validating', 'the sweep took it over')
  await clock.advance(4 * STAGE)
  t.equal((await store.getJob(A, 'j1'))?.status, 'completed')
  t.equal((await store.profiles.getUser(A, 'u1'))?.lastTouch.id, 'j1')
})

t.test('a runner that lost the lease stops its timer for the job', async (t) => {
  const { store, clock, leases, runner } = setup(t)
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(STAGE)
  t.equal((await store.getJob(A, 'j1'))?.status, 'validating')
  t.equal(clock.pending, 2, 'the job timer and the sweep timer')
  leases.owners.set('j1', 'other')
  await clock.advance(SWEEP)
  t.equal(clock.pending, 1, 'the job timer is gone, the sweep timer stays')
  await clock.advance(5 * STAGE)
  t.equal((await store.getJob(A, 'j1'))?.status, 'validating', 'left to the new owner')
})

t.test('the sweep skips a job whose step is running now', async (t) => {
  const { store, clock, leases, runner } = setup(t)
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(STAGE - 1)
  let open: () => void = () => {}
  leases.gate = new Promise((resolve) => { open = resolve })
  // The job's step (due first at STAGE) waits for its lease while a second
  // advance runs the sweeps due meanwhile.
  const step = clock.advance(1)
  await new Promise((resolve) => setImmediate(resolve))
  leases.gate = undefined
  await clock.advance(SWEEP)
  open()
  await step
  const job = await store.getJob(A, 'j1')
  t.same(job?.history.map((change) => change.status), ['queued', 'validating'], 'moved once, by its own step')
})

t.test('a failing sweep is reported and tried again', async (t) => {
  const { clock, leases, errors } = setup(t)
  leases.failSweep = true
  await clock.advance(SWEEP)
  t.same(errors, [{ tenant: '', jobId: '(lease sweep)' }])
  await clock.advance(SWEEP)
  t.equal(errors.length, 2, 'the sweep goes on')
})

t.test('close gives up the leases it holds, even when the store is away', async (t) => {
  const { clock, leases, runner } = setup(t)
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(STAGE)
  leases.failRelease = true
  await runner.close()
  t.same(leases.released, [{ tenant: A, jobId: 'j1' }])
  t.equal(clock.pending, 0, 'no timer left')
})

t.test('an ended job\'s lease is not given up again at close', async (t) => {
  const { clock, leases, runner } = setup(t)
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(5 * STAGE)
  await runner.close()
  t.same(leases.released, [])
})

t.test('MOCK_CLOCK=manual: no sweep at all', async (t) => {
  const { clock } = setup(t, false)
  t.equal(clock.pending, 0)
})

t.test('a step that finds its lease taken by another replica meanwhile does nothing', async (t) => {
  const { store, clock, leases, runner } = setup(t)
  await runner.submit(jobRecord(A, 'j1', clock.now(), 1), [{ user_id: 'u1' }])
  await clock.advance(SWEEP + 1)
  t.equal(leases.owners.get('j1'), 'me', 'the sweep renewed it')
  // Taken over between two sweeps: the stage timer, due before the next sweep, runs its step.
  leases.owners.set('j1', 'other')
  await clock.advance(STAGE - SWEEP - 1)
  t.equal((await store.getJob(A, 'j1'))?.status, 'queued', 'the step left the job to its owner')
  t.equal(clock.pending, 1, 'and scheduled nothing more for it: only the sweep timer is left')
})

t.test('the accepting replica holds the lease before the job exists: another replica\'s sweep in between cannot take it', async (t) => {
  const { store, leases, runner } = setup(t)
  const create = store.createJob.bind(store)
  const seen: Array<string | undefined> = []
  store.createJob = async (job, rows, options) => {
    seen.push(leases.owners.get(job.jobId))
    const result = await create(job, rows, options)
    // The other replica's sweep runs right after the job appears.
    leases.takeAs('other', job)
    return result
  }
  await runner.submit(jobRecord(A, 'j1', 0, 1), [{ user_id: 'u1' }])
  t.same(seen, ['me'], 'held when the job was created')
  t.equal(leases.owners.get('j1'), 'me', 'and still held: the sweep found it taken')
})

t.test('a job refused with 409 gives its lease back', async (t) => {
  const { leases, runner } = setup(t)
  t.same(await runner.submit(jobRecord(A, 'j1', 0, 1), [{ user_id: 'u1' }], { exclusive: true }), { created: true })
  const refused = await runner.submit(jobRecord(A, 'j2', 0, 1), [{ user_id: 'u2' }], { exclusive: true })
  t.same(refused, { created: false, activeJobId: 'j1' })
  t.same(leases.released.map((job) => job.jobId), ['j2'])
  t.notOk(leases.owners.has('j2'))
})
