/** Pure number helpers shared by the bench scripts (tested in test/bench/stats.test.ts). */

/** The value below which `q` (0..1) of the sorted samples fall (nearest rank); NaN for no samples. */
export function percentile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil(q * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] as number
}

/** The middle value of unsorted samples (NaN for none). */
export function median (values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5)
}

/** `a / b`, or NaN when `b` is zero or either is not a number. */
export function ratio (a: number, b: number): number {
  return b === 0 || !Number.isFinite(a) || !Number.isFinite(b) ? Number.NaN : a / b
}

/** A number for a table: fixed decimals, `–` for NaN, thousands separated for large integers. */
export function fmt (value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '–'
  const fixed = value.toFixed(decimals)
  if (decimals !== 0 || Math.abs(value) < 10_000) return fixed
  return fixed.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/**
 * The median of samples with their range, e.g. `0.62 (0.55–0.70)`: just the
 * value for one sample, `–` for none. NaNs (ratios to a zero) are left out.
 */
export function spread (values: readonly number[], decimals = 2): string {
  const finite = values.filter(Number.isFinite)
  if (finite.length < 2) return fmt(finite[0] ?? Number.NaN, decimals)
  return `${fmt(median(finite), decimals)} (${fmt(Math.min(...finite), decimals)}–${fmt(Math.max(...finite), decimals)})`
}

/** A request body's size for a table: `GET` for none, bytes under 1 KB, else whole KB. */
export function bodySize (bytes: number): string {
  if (bytes === 0) return 'GET'
  return bytes < 1024 ? `${bytes} B` : `${fmt(bytes / 1024, 0)} KB`
}

/** Bytes as MB with one decimal. */
export function mb (bytes: number): string {
  return fmt(bytes / 1024 / 1024, 1)
}

/** What a target check says: `met`, or `NOT met` with how far off. */
export interface Verdict { line: string, met: boolean }

/**
 * One verdict line, e.g. `W1 req/s ratio 0.91 (target ≥ 0.85): met`.
 * `atLeast` true means the value must be ≥ the target, else ≤.
 */
export function verdict (label: string, value: number, target: number, atLeast: boolean, decimals = 2, unit = ''): Verdict {
  const met = Number.isFinite(value) && (atLeast ? value >= target : value <= target)
  const shown = `${fmt(value, decimals)}${unit}`
  return { met, line: `${label} ${shown} (target ${atLeast ? '≥' : '≤'} ${fmt(target, decimals)}${unit}): ${met ? 'met' : 'NOT met'}` }
}
