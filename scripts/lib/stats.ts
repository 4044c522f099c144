/** Resident set size in bytes from the text of `/proc/<pid>/status` (its `VmRSS: <n> kB` line). */
export function parseVmRss (status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (match === null) throw new Error('no VmRSS line in /proc/<pid>/status (has the process exited?)')
  return Number(match[1]) * 1024
}

/** The middle value (mean of the two middle ones for an even count); a window's median ignores one GC spike. */
export function median (values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values')
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** Growth from `from` to `to` in percent. */
export function growthPercent (from: number, to: number): number {
  return (to - from) / from * 100
}

/** Bytes as `12.3 MB` (MiB, as RSS tools show it). */
export function formatMb (bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

/** A signed percentage with one decimal: `+2.4%`, `-0.3%`. */
export function formatPercent (value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}%`
}

/** Answers by status class and failures without an answer (reset, refused, hang up, timeout) by error code. */
export class Tally {
  readonly byClass = new Map<string, number>()
  readonly byStatus = new Map<number, number>()
  readonly errors = new Map<string, number>()

  /** Counts one answer's status. */
  status (status: number): void {
    const kind = `${Math.floor(status / 100)}xx`
    this.byClass.set(kind, (this.byClass.get(kind) ?? 0) + 1)
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1)
  }

  /** Counts one request that got no answer; `code` is the error's code (ECONNRESET…) or its message. */
  error (code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1)
  }

  get requests (): number {
    return sum(this.byClass.values()) + this.errorCount
  }

  get serverErrors (): number {
    return this.byClass.get('5xx') ?? 0
  }

  get errorCount (): number {
    return sum(this.errors.values())
  }

  /** `2xx 1200, 4xx 30` then the statuses, then the errors by code: for the report. */
  describe (): string {
    const classes = [...this.byClass].sort(([a], [b]) => a.localeCompare(b)).map(([kind, count]) => `${kind} ${count}`).join(', ')
    const statuses = [...this.byStatus].sort(([a], [b]) => a - b).map(([status, count]) => `${status}: ${count}`).join(', ')
    const errors = [...this.errors].sort(([a], [b]) => a.localeCompare(b)).map(([code, count]) => `${code}: ${count}`).join(', ')
    return `by class: ${classes === '' ? 'none' : classes}\nby status: ${statuses === '' ? 'none' : statuses}\nerrors: ${errors === '' ? 'none' : errors}`
  }
}

function sum (values: Iterable<number>): number {
  let total = 0
  for (const value of values) total += value
  return total
}

/** What a soak run measured. */
export interface SoakResult {
  requests: number
  serverErrors: number
  errors: number
  warmRss: number
  endRss: number
  maxRss: number
  seconds: number
  maxGrowth: number
}

/** The one line a soak run ends with. */
export function soakSummary (result: SoakResult): string {
  const growth = growthPercent(result.warmRss, result.endRss)
  return `soak: ${result.requests} requests, ${result.serverErrors} 5xx, ${result.errors} errors, ` +
    `rss warm ${formatMb(result.warmRss)} -> end ${formatMb(result.endRss)} (${formatPercent(growth)}, max ${formatMb(result.maxRss)}) over ${result.seconds} s`
}

/** Why a soak run fails; empty when it passes. */
export function soakFailures (result: SoakResult): string[] {
  const failures: string[] = []
  if (result.requests === 0) failures.push('no request was answered')
  if (result.serverErrors > 0) failures.push(`${result.serverErrors} answers were 5xx`)
  if (result.errors > 0) failures.push(`${result.errors} requests got no answer (network errors)`)
  const growth = growthPercent(result.warmRss, result.endRss)
  if (growth >= result.maxGrowth) failures.push(`RSS grew ${formatPercent(growth)} after warm-up (limit ${result.maxGrowth}%)`)
  return failures
}

/** The code a failed request is counted under: ECONNRESET, ECONNREFUSED, ETIMEDOUT… or else its message. */
export function errorCode (error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error)
}
