import { readFileSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { cpus } from 'node:os'
import { performance } from 'node:perf_hooks'

/** Resident and peak resident memory of a process, in bytes, from /proc/<pid>/status; undefined once it is gone. */
export function memoryOf (pid: number): { rss: number, hwm: number } | undefined {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return undefined
  }
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024
  return { rss: field('VmRSS'), hwm: field('VmHWM') }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; NaN once it is gone. */
export function cpuSecondsOf (pid: number): number {
  const times = cpuTimesOf(pid)
  return times.user + times.system
}

/** CPU seconds a process has used so far in user space and in the kernel (utime, stime of /proc/<pid>/stat); NaN once it is gone. */
export function cpuTimesOf (pid: number): { user: number, system: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) in parentheses; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS }
  } catch {
    return { user: Number.NaN, system: Number.NaN }
  }
}

/** Kernel clock ticks per second (USER_HZ), 100 on Linux. */
const CLOCK_TICKS = 100

/** Resets the kernel's peak RSS (VmHWM) of a process to its current RSS; false where the kernel refuses. */
export function resetPeak (pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

/**
 * Samples a process's RSS every `intervalMs` (and its CPU time) and reads the kernel's peak at
 * the end: the peak of the measured window (the kernel's VmHWM is reset at
 * the start when it can be, else the sampled maximum stands).
 */
export class RssSampler {
  readonly #pid: number
  readonly #timer: NodeJS.Timeout
  readonly #kernelPeak: boolean
  readonly #cpuStart: number
  readonly #started = performance.now()
  #peak = 0
  #last = 0

  constructor (pid: number, intervalMs = 100) {
    this.#pid = pid
    this.#cpuStart = cpuSecondsOf(pid)
    this.#kernelPeak = resetPeak(pid)
    this.#sample()
    this.#timer = setInterval(() => this.#sample(), intervalMs)
  }

  #sample (): void {
    const memory = memoryOf(this.#pid)
    if (memory === undefined) return
    this.#last = memory.rss
    this.#peak = Math.max(this.#peak, memory.rss, this.#kernelPeak ? memory.hwm : 0)
  }

  /**
   * Stops sampling; returns the peak and the last RSS seen, in bytes, and
   * the share of one core the process used meanwhile (0..1): well under 1
   * means the server was not the bottleneck.
   */
  stop (): { peak: number, last: number, cpu: number } {
    clearInterval(this.#timer)
    this.#sample()
    const cpu = (cpuSecondsOf(this.#pid) - this.#cpuStart) / ((performance.now() - this.#started) / 1000)
    return { peak: this.#peak, last: this.#last, cpu }
  }
}

let pinnable: boolean | undefined

/** True when this machine has the two cores the bench pins to, and taskset is there (the machine's cores, not this process's affinity). */
export function canPin (): boolean {
  pinnable ??= cpus().length >= 2 && spawnSync('taskset', ['--version']).status === 0
  return pinnable
}

/**
 * Pins this process (every thread: `taskset -a`) to `cpu`, so the load
 * generator never competes with the server under test on its core.
 */
export function pinSelf (cpu: number): string {
  if (!canPin()) return 'not pinned (needs 2 cores and taskset from util-linux): figures are less stable'
  const result = spawnSync('taskset', ['-a', '-cp', String(cpu), String(process.pid)], { encoding: 'utf8' })
  return result.status === 0 ? `load generator pinned to core ${cpu}` : `not pinned: ${result.stderr.trim()}`
}
