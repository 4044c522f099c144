import type { JobStatus } from '../../schemas/jobs.js'
import { failsOnArrival, isTerminal, JOB_LANES, laneOf, nextStatus, statusOrder, type JobLane, type Stage } from './lifecycle.js'
import type { Clock, TimerHandle } from '../clock.js'
import { leasesOf, sweepInterval, type JobLeases, type JobRef } from './lease.js'
import type { CreateJobOptions, CreateJobResult, JobRecord, JobRow, MockStore } from '../store/store.js'

/** How long each stage lasts. */
export interface JobTiming {
  /** Milliseconds for each of queued, validating, processing and pending_refresh. */
  stageMs: number
  /** When set, `processing` lasts as long as the real service would at this rate. */
  rowsPerMin?: number | undefined
}

export interface JobRunnerOptions {
  store: MockStore
  clock: Clock
  timing: JobTiming
  /** Rows per store call (one applyRows). */
  chunkRows?: number
  /**
   * Milliseconds of row work before the event loop is given back: chunks go on
   * until it is spent (default {@link DEFAULT_SLICE_MS}; 0 gives it back after every chunk).
   */
  sliceMs?: number
  /** Called when a step fails (the step is retried later). */
  onError: (error: unknown, job: { tenant: string, jobId: string }) => void
  /** False under MOCK_CLOCK=manual: no timers at all; jobs move only by advance, fail and flush. */
  autoAdvance?: boolean
  /** Job leases when replicas share the store; default: the store's own (Redis), none for memory. */
  leases?: JobLeases | undefined
}

/** What a control call on a job did. */
export type ControlResult =
  | { ok: true, job: JobRecord }
  | { ok: false, reason: 'not_found' }
  | { ok: false, reason: 'finished' | 'backwards', job: JobRecord }
  | { ok: false, reason: 'waiting', job: JobRecord, aheadJobId: string }

/** Rows per chunk: small enough that one chunk takes well under a millisecond or two. */
export const DEFAULT_CHUNK_ROWS = 500

/**
 * A job applies rows for about this long before other requests get their turn: short
 * enough that they wait little, long enough that a 10,000-row job takes one or two
 * turns of a busy event loop instead of twenty, so its rows are let go before more
 * jobs pile up behind it (BENCHMARKS.md: peak memory under 10,000-user requests).
 */
export const DEFAULT_SLICE_MS = 8
/** Pause before a failed step is tried again. */
export const RETRY_MS = 1000

/** How long a stage lasts for a job of `totalRows` rows. */
export function stageDuration (stage: Stage, totalRows: number, timing: JobTiming): number {
  if (stage === 'processing' && timing.rowsPerMin !== undefined) {
    return Math.ceil(totalRows * 60_000 / timing.rowsPerMin)
  }
  return timing.stageMs
}

/** Interval between progress steps while processing: about 20 steps a stage, 10 ms to 1 s apart. */
export function progressTick (duration: number): number {
  return Math.min(1000, Math.max(10, Math.ceil(duration / 20)))
}

function keyOf (job: JobRef): string {
  return `${job.tenant}\n${job.jobId}`
}

function stageOf (job: JobRecord): { stage: Stage, since: number } {
  return { stage: job.status as Stage, since: (job.history.at(-1) as { at: number }).at }
}

/**
 * Carries jobs through their lifecycle on the injected clock. It keeps no job
 * state of its own: every step reads the job from the store and writes back
 * through compare-and-set, so state and timers can never disagree.
 */
export class JobRunner {
  readonly #options: JobRunnerOptions
  readonly #chunkRows: number
  readonly #sliceMs: number
  /** When the current slice of row work ends: one for the whole runner, so that jobs run back to back (flush) share it. */
  #sliceEnd = 0
  readonly #timers = new Map<string, TimerHandle>()
  readonly #running = new Set<Promise<void>>()
  readonly #autoAdvance: boolean
  readonly #leases: JobLeases | undefined
  /** Jobs whose step is running now, by key. */
  readonly #busy = new Set<string>()
  /** Jobs whose lease this runner took, by key: given up on close so that another replica carries on at once. */
  readonly #owned = new Map<string, JobRef>()
  #sweepTimer: TimerHandle | undefined
  #closed = false

  constructor (options: JobRunnerOptions) {
    this.#options = options
    this.#chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS
    this.#sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS
    this.#autoAdvance = options.autoAdvance ?? true
    this.#leases = options.leases ?? leasesOf(options.store)
    if (this.#autoAdvance) this.#armSweep()
  }

  /**
   * Stores a new job with its rows and starts its clock. With `exclusive`
   * (MOCK_CONCURRENCY=reject) it is refused while another job of the tenant
   * has not ended; otherwise it waits in `queued` for the jobs before it.
   */
  async submit (job: JobRecord, rows: readonly JobRow[], options: CreateJobOptions = {}): Promise<CreateJobResult> {
    // The replica that takes the request carries the job, unless it dies: its
    // lease is taken before the job exists, so another replica's sweep can
    // never see the job without one and take it over in between.
    const leases = this.#autoAdvance ? this.#leases : undefined
    if (leases !== undefined && await leases.acquire(job, true)) this.#owned.set(keyOf(job), job)
    const result = await this.#options.store.createJob(job, rows, options)
    if (!result.created) {
      // No job (a 409): the lease taken for it goes.
      if (leases !== undefined) {
        this.#owned.delete(keyOf(job))
        await leases.release(job)
      }
      return result
    }
    if (this.#startsNow(job)) {
      await this.#track(job, async () => { await this.#runNow(job) })
    } else {
      await this.#arrived(job)
    }
    return result
  }

  /**
   * Whether a new job is carried as far as it goes in the request that made it
   * instead of on a timer: its stages last 0 ms (MOCK_STAGE_MS=0), its rows fit
   * in one chunk (so the 202 waits for no slice of row work) and no other replica
   * could take it. A timer per job was most of the cost of running small jobs
   * (BENCHMARKS.md section 8); a job queued behind another still waits its turn.
   */
  #startsNow (job: JobRecord): boolean {
    return this.#autoAdvance && this.#leases === undefined && job.totalRows <= this.#chunkRows && this.#firstStepDelay(job) === 0
  }

  /**
   * Carries a job that {@link #startsNow} as far as it goes: in one store call
   * where the store has one (runJobNow), which saved about 11 µs of CPU per
   * request under W1 against the five steps and their store calls (BENCHMARKS.md
   * section 8); else, or when it cannot run yet, a stage at a time.
   */
  async #runNow (job: JobRecord): Promise<void> {
    const { store, clock } = this.#options
    const ended = await store.runJobNow?.(job.tenant, job.jobId, clock.now())
    if (ended === undefined) await this.#arrived(job, true)
    else await this.#ended(ended)
  }

  /**
   * Runs a job's step so that close() waits for it and the lease sweep leaves
   * it alone; a step that fails is reported and tried again after {@link RETRY_MS}.
   */
  async #track (job: JobRef, step: () => Promise<void>): Promise<void> {
    const key = keyOf(job)
    this.#busy.add(key)
    const run = step()
      .catch((error: unknown) => {
        this.#options.onError(error, { tenant: job.tenant, jobId: job.jobId })
        this.#schedule(job, RETRY_MS)
      })
      .finally(() => {
        this.#busy.delete(key)
        this.#running.delete(run)
      })
    this.#running.add(run)
    await run
  }

  /**
   * About how long until a job ends on its own, from its stage timings (0
   * once it has ended or is gone, or under MOCK_CLOCK=manual, where nothing
   * moves by itself).
   */
  remainingMs (job: JobRecord | undefined, now: number): number {
    if (job === undefined || !this.#autoAdvance || isTerminal(job.status)) return 0
    const { timing } = this.#options
    const { stage, since } = stageOf(job)
    let total = Math.max(0, since + stageDuration(stage, job.totalRows, timing) - now)
    for (let next = nextStatus(stage); !isTerminal(next); next = nextStatus(next as Stage)) total += stageDuration(next as Stage, job.totalRows, timing)
    return total
  }

  /**
   * Moves a job on now: one stage, or with `to` until it reaches that status
   * (`failed` fails it). Processing first applies every row it has left.
   */
  async advance (tenant: string, jobId: string, to?: JobStatus): Promise<ControlResult> {
    if (to === 'failed') return await this.fail(tenant, jobId)
    let job = await this.#options.store.getJob(tenant, jobId)
    if (job === undefined) return { ok: false, reason: 'not_found' }
    if (isTerminal(job.status)) return { ok: false, reason: 'finished', job }
    if (to !== undefined && statusOrder(to) <= statusOrder(job.status)) return { ok: false, reason: 'backwards', job }
    const ahead = await this.#options.store.oldestActiveJob(tenant, laneOf(job.type)) as JobRecord
    if (ahead.jobId !== jobId) return { ok: false, reason: 'waiting', job, aheadJobId: ahead.jobId }
    const target = to ?? nextStatus(job.status as Stage)
    while (!isTerminal(job.status) && job.status !== target) job = await this.#forward(job)
    return { ok: true, job }
  }

  /** Fails a job now, or with a later `at` stage, when it gets there. */
  async fail (tenant: string, jobId: string, at?: Stage): Promise<ControlResult> {
    const { store, clock } = this.#options
    const job = await store.getJob(tenant, jobId)
    if (job === undefined) return { ok: false, reason: 'not_found' }
    if (isTerminal(job.status)) return { ok: false, reason: 'finished', job }
    if (at !== undefined && statusOrder(at) > statusOrder(job.status)) {
      return { ok: true, job: await store.setFailAt(tenant, jobId, at) as JobRecord }
    }
    const failed = await store.transitionJob(tenant, jobId, job.status, 'failed', clock.now())
    if (failed === undefined) return await this.fail(tenant, jobId, at)
    await this.#ended(failed)
    return { ok: true, job: failed }
  }

  /** Runs every job that has not ended (of one tenant, or all) to its end now, in order in each lane; returns how many. */
  async flush (tenant: string | null): Promise<number> {
    const { store } = this.#options
    const tenants = tenant === null ? await store.listTenants() : [tenant]
    let finished = 0
    for (const each of tenants) {
      for (const lane of JOB_LANES) {
        for (let job = await store.oldestActiveJob(each, lane); job !== undefined; job = await store.oldestActiveJob(each, lane)) {
          await this.advance(each, job.jobId, 'completed')
          finished++
        }
      }
    }
    return finished
  }

  /** One stage on, now; returns the job as it is afterwards (whoever moved it). */
  async #forward (job: JobRecord): Promise<JobRecord> {
    const { store, clock } = this.#options
    const stage = job.status as Stage
    const now = clock.now()
    if (stage === 'processing') await this.#applyDueRows(job, now, 0, now)
    const moved = await store.transitionJob(job.tenant, job.jobId, stage, nextStatus(stage), now)
    if (moved !== undefined) return await this.#arrived(moved)
    return await store.getJob(job.tenant, job.jobId) as JobRecord
  }

  /**
   * Every arrival in a status goes through here: a job told to fail at this
   * stage fails on arrival (so it applies no rows from then on), an ended job
   * lets the next one run, and a running one gets its next step.
   */
  async #arrived (job: JobRecord, chain = false): Promise<JobRecord> {
    if (isTerminal(job.status)) {
      await this.#ended(job)
      return job
    }
    if (failsOnArrival(job)) {
      const failed = await this.#options.store.transitionJob(job.tenant, job.jobId, job.status, 'failed', this.#options.clock.now()) as JobRecord
      await this.#ended(failed)
      return failed
    }
    if (this.#autoAdvance) {
      const delay = this.#firstStepDelay(job)
      // Within a step, a stage of no length is carried on at once rather than
      // through a timer of its own (MOCK_STAGE_MS=0: one step, not five).
      if (chain && delay === 0 && !this.#closed) await this.#step(job.tenant, job.jobId, job)
      else this.#schedule(job, delay)
    }
    return job
  }

  async #ended (job: JobRecord): Promise<void> {
    this.#cancel(job)
    // The store dropped the lease with the job's end.
    this.#owned.delete(keyOf(job))
    await this.#wakeNext(job.tenant, laneOf(job.type))
  }

  #cancel (job: Pick<JobRecord, 'tenant' | 'jobId'>): void {
    const key = keyOf(job)
    const pending = this.#timers.get(key)
    if (pending !== undefined) this.#options.clock.clearTimer(pending)
    this.#timers.delete(key)
  }

  /** Forgets a tenant's state (every tenant's when null), its job timers first. */
  async forget (tenant: string | null): Promise<void> {
    for (const [key, handle] of this.#timers) {
      if (tenant === null || key.startsWith(`${tenant}\n`)) {
        this.#options.clock.clearTimer(handle)
        this.#timers.delete(key)
      }
    }
    await this.#options.store.reset(tenant)
  }

  /** Stops every timer, waits for the steps under way and gives up this runner's leases. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#sweepTimer !== undefined) this.#options.clock.clearTimer(this.#sweepTimer)
    for (const handle of this.#timers.values()) this.#options.clock.clearTimer(handle)
    this.#timers.clear()
    await Promise.all(this.#running)
    const leases = this.#leases
    if (leases === undefined) return
    // Best effort: with the store away the leases simply expire.
    await Promise.allSettled([...this.#owned.values()].map(async (job) => await leases.release(job)))
    this.#owned.clear()
  }

  /**
   * With replicas sharing the store, every replica looks at every job that
   * has not ended a few times per lease: it renews the leases of the jobs it
   * carries, and takes over a job whose lease has expired (its owner died)
   * or that waits in the queue (the job ahead may have ended elsewhere), so
   * that no job ever stalls.
   */
  #armSweep (): void {
    const leases = this.#leases
    if (leases === undefined || this.#closed) return
    this.#sweepTimer = this.#options.clock.setTimer(() => {
      const run = this.#sweep(leases)
        .catch((error: unknown) => this.#options.onError(error, { tenant: '', jobId: '(lease sweep)' }))
        .finally(() => {
          this.#running.delete(run)
          this.#armSweep()
        })
      this.#running.add(run)
      return run
    }, sweepInterval(leases.leaseMs))
  }

  async #sweep (leases: JobLeases): Promise<void> {
    for (const job of await leases.activeJobs()) {
      const key = keyOf(job)
      if (this.#busy.has(key)) continue
      const mine = await leases.acquire(job)
      if (mine) this.#owned.set(key, job)
      else this.#owned.delete(key)
      if (this.#timers.has(key)) {
        // Lost to another replica (this one stalled past its lease): let it be.
        if (!mine) this.#cancel(job)
      } else if (mine) {
        this.#schedule(job, 0)
      }
    }
  }

  #firstStepDelay (job: JobRecord): number {
    const { stage } = stageOf(job)
    const duration = stageDuration(stage, job.totalRows, this.#options.timing)
    return stage === 'processing' ? Math.min(progressTick(duration), duration) : duration
  }

  #schedule (job: Pick<JobRecord, 'tenant' | 'jobId'>, delay: number): void {
    if (this.#closed) return
    this.#cancel(job)
    const key = keyOf(job)
    const handle = this.#options.clock.setTimer(async () => {
      this.#timers.delete(key)
      await this.#track(job, async () => { await this.#step(job.tenant, job.jobId) })
    }, Math.max(0, delay))
    this.#timers.set(key, handle)
  }

  /** One step of a job; `known` is the job as the store just returned it, which saves reading it again. */
  async #step (tenant: string, jobId: string, known?: JobRecord): Promise<void> {
    const { store, clock, timing } = this.#options
    // Another replica carries this job: leave it to that one (the sweep takes over if it dies).
    if (this.#leases !== undefined) {
      if (!(await this.#leases.acquire({ tenant, jobId }))) return
      this.#owned.set(keyOf({ tenant, jobId }), { tenant, jobId })
    }
    const job = known ?? await store.getJob(tenant, jobId)
    // Ended (or forgotten) behind the runner's back, e.g. by another process: let the next one run.
    if (job === undefined || isTerminal(job.status)) {
      this.#owned.delete(keyOf({ tenant, jobId }))
      return await this.#wakeNext(tenant, job === undefined ? undefined : laneOf(job.type))
    }
    const { stage, since } = stageOf(job)
    // One job at a time per tenant: a queued job waits, without a timer, until
    // the jobs before it have ended; the last of them wakes it (#wakeNext).
    if (stage === 'queued' && (await store.oldestActiveJob(tenant, laneOf(job.type)) as JobRecord).jobId !== jobId) return
    const duration = stageDuration(stage, job.totalRows, timing)
    const now = clock.now()
    if (stage === 'processing') {
      const current = await this.#applyDueRows(job, since, duration, now)
      if (current === undefined || current.status !== 'processing') return
      if (current.completedRows < current.totalRows) {
        this.#schedule(job, Math.min(progressTick(duration), since + duration - now))
        return
      }
    } else if (now < since + duration) {
      this.#schedule(job, since + duration - now)
      return
    }
    const moved = await store.transitionJob(tenant, jobId, stage, nextStatus(stage), now)
    if (moved !== undefined) await this.#arrived(moved, true)
  }

  /** After a job ends, lets the tenant's next queued job of its lane (of every lane when unknown) run (its queued time already counts). */
  async #wakeNext (tenant: string, lane?: JobLane): Promise<void> {
    for (const each of lane === undefined ? JOB_LANES : [lane]) {
      const next = await this.#options.store.oldestActiveJob(tenant, each)
      if (next?.status === 'queued' && this.#autoAdvance) this.#schedule(next, 0)
    }
  }

  /**
   * Applies the rows due by `now` (in proportion to the time spent processing),
   * a chunk at a time, giving the event loop back whenever a slice of work is spent.
   */
  async #applyDueRows (job: JobRecord, since: number, duration: number, now: number): Promise<JobRecord | undefined> {
    const { store, clock } = this.#options
    const due = duration === 0 || now >= since + duration
      ? job.totalRows
      : Math.floor(job.totalRows * (now - since) / duration)
    let current: JobRecord | undefined = job
    while (current !== undefined && current.status === 'processing' && current.completedRows < due) {
      current = await store.applyRows(job.tenant, job.jobId, Math.min(this.#chunkRows, due - current.completedRows), now)
      // Real time, not the mock's clock: the slice is about this process's event loop.
      if (current !== undefined && current.completedRows < due && performance.now() >= this.#sliceEnd) {
        await clock.yield()
        this.#sliceEnd = performance.now() + this.#sliceMs
      }
    }
    return current
  }
}
