import { setImmediate as nextTurn } from 'node:timers/promises'

/** Handle of a timer created through a {@link Clock}. */
export interface TimerHandle { readonly id: number }

/** A timer callback; a clock that drives time itself awaits the promise it returns. */
export type TimerCallback = () => void | Promise<void>

/**
 * The only source of time and timers in the domain, so that tests (and
 * MOCK_CLOCK=manual) decide when jobs move.
 */
export interface Clock {
  now(): number
  setTimer(callback: TimerCallback, ms: number): TimerHandle
  clearTimer(handle: TimerHandle): void
  /** Gives the event loop back between chunks of work; not a passage of time. */
  yield(): Promise<void>
  /** Cancels every timer that has not fired yet. */
  dispose(): void
}

/** Real time: timers are `unref()`ed so that a forgotten job never keeps a process alive. */
export class SystemClock implements Clock {
  #next = 0
  readonly #timers = new Map<number, NodeJS.Timeout>()

  now (): number {
    return Date.now()
  }

  setTimer (callback: TimerCallback, ms: number): TimerHandle {
    const id = ++this.#next
    const timer = setTimeout(() => {
      this.#timers.delete(id)
      callback()
    }, ms)
    timer.unref()
    this.#timers.set(id, timer)
    return { id }
  }

  clearTimer (handle: TimerHandle): void {
    clearTimeout(this.#timers.get(handle.id))
    this.#timers.delete(handle.id)
  }

  yield (): Promise<void> {
    return nextTurn()
  }

  dispose (): void {
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
  }

  /** Timers not fired yet (for leak checks). */
  get pending (): number {
    return this.#timers.size
  }
}

interface ManualTimer { id: number, at: number, callback: TimerCallback }

/**
 * Virtual time that moves only when {@link ManualClock.advance} is called:
 * due timers fire in time order and their work is awaited, so a test sees a
 * settled state after each step without sleeping.
 */
export class ManualClock implements Clock {
  #now: number
  #next = 0
  #timers: ManualTimer[] = []

  constructor (start = Date.parse('2025-05-19T07:29:12.000Z')) {
    this.#now = start
  }

  now (): number {
    return this.#now
  }

  setTimer (callback: TimerCallback, ms: number): TimerHandle {
    const id = ++this.#next
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), callback })
    return { id }
  }

  clearTimer (handle: TimerHandle): void {
    this.#timers = this.#timers.filter((timer) => timer.id !== handle.id)
  }

  yield (): Promise<void> {
    return nextTurn()
  }

  dispose (): void {
    this.#timers = []
  }

  /** Timers not fired yet. */
  get pending (): number {
    return this.#timers.length
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way
   * (including ones they set). `limit` stops a timer that keeps re-arming
   * itself with no delay, which would otherwise never let time move.
   */
  async advance (ms: number, limit = 100_000): Promise<void> {
    const target = this.#now + ms
    let fired = 0
    for (let timer = this.#due(target); timer !== undefined; timer = this.#due(target)) {
      if (++fired > limit) throw new Error(`ManualClock: more than ${limit} timers fired in one advance; a timer keeps re-arming itself`)
      this.#timers = this.#timers.filter((pending) => pending !== timer)
      this.#now = Math.max(this.#now, timer.at)
      await timer.callback()
    }
    this.#now = target
  }

  /** Fires timers until none is left, however far in the future; returns how far time moved. */
  async runAll (limit = 100_000): Promise<number> {
    const start = this.#now
    for (let steps = 0; this.#timers.length > 0; steps++) {
      if (steps >= limit) throw new Error(`ManualClock.runAll: still ${this.#timers.length} timers after ${limit} steps`)
      const at = Math.min(...this.#timers.map((timer) => timer.at))
      await this.advance(at - this.#now, limit)
    }
    return this.#now - start
  }

  #due (target: number): ManualTimer | undefined {
    let earliest: ManualTimer | undefined
    for (const timer of this.#timers) {
      if (timer.at <= target && (earliest === undefined || timer.at < earliest.at)) earliest = timer
    }
    return earliest
  }
}
