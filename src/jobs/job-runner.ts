import { isTerminal, nextStatus, type Stage } from './lifecycle.js'
import type { Clock, TimerHandle } from '../clock.js'
import type { JobRecord, JobRow, MockStore } from '../store/store.js'

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
  /** Rows applied between two returns to the event loop. */
  chunkRows?: number
  /** Called when a step fails (the step is retried later). */
  onError: (error: unknown, job: { tenant: string, jobId: string }) => void
}

/** Rows per chunk: small enough that one chunk takes well under a millisecond or two. */
export const DEFAULT_CHUNK_ROWS = 500
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
  readonly #timers = new Map<string, TimerHandle>()
  readonly #running = new Set<Promise<void>>()
  #closed = false

  constructor (options: JobRunnerOptions) {
    this.#options = options
    this.#chunkRows = options.chunkRows ?? DEFAULT_CHUNK_ROWS
  }

  /** Stores a new job with its rows and starts its clock. */
  async submit (job: JobRecord, rows: readonly JobRow[]): Promise<void> {
    await this.#options.store.createJob(job, rows)
    this.#schedule(job, this.#firstStepDelay(job))
  }

  /** Stops every timer and waits for the steps under way. */
  async close (): Promise<void> {
    this.#closed = true
    for (const handle of this.#timers.values()) this.#options.clock.clearTimer(handle)
    this.#timers.clear()
    await Promise.all(this.#running)
  }

  #firstStepDelay (job: JobRecord): number {
    const { stage } = stageOf(job)
    const duration = stageDuration(stage, job.totalRows, this.#options.timing)
    return stage === 'processing' ? Math.min(progressTick(duration), duration) : duration
  }

  #schedule (job: Pick<JobRecord, 'tenant' | 'jobId'>, delay: number): void {
    if (this.#closed) return
    const key = `${job.tenant}\n${job.jobId}`
    const handle = this.#options.clock.setTimer(() => {
      this.#timers.delete(key)
      const run = this.#step(job.tenant, job.jobId)
        .catch((error: unknown) => {
          this.#options.onError(error, { tenant: job.tenant, jobId: job.jobId })
          this.#schedule(job, RETRY_MS)
        })
        .finally(() => this.#running.delete(run))
      this.#running.add(run)
      return run
    }, Math.max(0, delay))
    this.#timers.set(key, handle)
  }

  async #step (tenant: string, jobId: string): Promise<void> {
    const { store, clock, timing } = this.#options
    const job = await store.getJob(tenant, jobId)
    if (job === undefined || isTerminal(job.status)) return
    const { stage, since } = stageOf(job)
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
    if (moved !== undefined && !isTerminal(moved.status)) this.#schedule(moved, this.#firstStepDelay(moved))
  }

  /**
   * Applies the rows due by `now` (in proportion to the time spent processing),
   * a chunk at a time, giving the event loop back between chunks.
   */
  async #applyDueRows (job: JobRecord, since: number, duration: number, now: number): Promise<JobRecord | undefined> {
    const { store, clock } = this.#options
    const due = duration === 0 || now >= since + duration
      ? job.totalRows
      : Math.floor(job.totalRows * (now - since) / duration)
    let current: JobRecord | undefined = job
    while (current !== undefined && current.status === 'processing' && current.completedRows < due) {
      current = await store.applyRows(job.tenant, job.jobId, Math.min(this.#chunkRows, due - current.completedRows), now)
      if (current !== undefined && current.completedRows < due) await clock.yield()
    }
    return current
  }
}
