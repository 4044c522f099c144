import type { Clock, TimerHandle } from '../clock.js'
import type { DeletionCount, ProfileStore } from '../store/profile-store.js'

const DAY_MS = 86_400_000
/** Userpilot carries out deletions daily at 02:00 UTC. */
const RUN_HOUR_UTC = 2

/** The first 02:00 UTC strictly after `now`: when a deletion requested at `now` is carried out. */
export function nextDeletionRun (now: number): number {
  const day = Math.floor(now / DAY_MS) * DAY_MS
  const today = day + RUN_HOUR_UTC * 3_600_000
  return today > now ? today : today + DAY_MS
}

export interface DeletionSchedulerOptions {
  profiles: ProfileStore
  clock: Clock
  /** False under MOCK_CLOCK=manual: no timer; deletions run only by flush. */
  autoAdvance: boolean
  /**
   * True when replicas share the store: every replica keeps a daily run armed,
   * since a deletion scheduled by another replica arms no timer here.
   */
  shared: boolean
  onError: (error: unknown) => void
}

/**
 * Carries out scheduled deletions at 02:00 UTC of the mock's clock. A timer
 * is armed only while a deletion is pending (or always, with a shared
 * store), so an idle mock keeps no timer; a run is idempotent, so two
 * replicas running it together delete each profile once.
 */
export class DeletionScheduler {
  readonly #options: DeletionSchedulerOptions
  #timer: TimerHandle | undefined
  #armedFor = Infinity
  #running: Promise<void> | undefined
  #closed = false

  constructor (options: DeletionSchedulerOptions) {
    this.#options = options
  }

  /** At start: runs what fell due while no mock ran, and arms the next run if anything is pending. */
  async start (): Promise<void> {
    if (!this.#options.autoAdvance) return
    await this.#run()
  }

  /** A deletion is now pending for `dueAt`: make sure a run is armed by then. */
  scheduled (dueAt: number): void {
    if (!this.#options.autoAdvance || this.#closed || dueAt >= this.#armedFor) return
    this.#arm(dueAt)
  }

  /** Carries out every pending deletion (of one tenant, or all) now, due or not. */
  async flush (tenant: string | null): Promise<DeletionCount> {
    return await this.#options.profiles.runDeletions(tenant, Infinity)
  }

  #arm (at: number): void {
    const { clock } = this.#options
    if (this.#timer !== undefined) clock.clearTimer(this.#timer)
    this.#armedFor = at
    this.#timer = clock.setTimer(() => {
      this.#timer = undefined
      this.#armedFor = Infinity
      this.#running = this.#run().catch(this.#options.onError).finally(() => { this.#running = undefined })
      return this.#running
    }, at - clock.now())
  }

  async #run (): Promise<void> {
    const { profiles, clock, shared } = this.#options
    const now = clock.now()
    await profiles.runDeletions(null, now)
    if (this.#closed) return
    if (shared || await profiles.hasDeletions()) this.#arm(nextDeletionRun(now))
  }

  /** Stops the timer and waits for a run under way. */
  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) this.#options.clock.clearTimer(this.#timer)
    this.#timer = undefined
    await this.#running
  }
}
