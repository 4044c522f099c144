/**
 * What V8's `--trace-gc-nvp` says about a window of a server's life: one line per
 * collection, `[pid:isolate]  <ms since the isolate started> ms: pause=… gc=s …
 * new_space_survived=…` (`gc=s` a scavenge of the young generation, `gc=mc` a full
 * mark-compact). A scavenge costs about in proportion to what survives it, so the
 * bytes surviving per answer say how much of what a server allocates it keeps for
 * longer than a few requests (BENCHMARKS.md section 8).
 */
export interface GcTotals {
  scavenges: number
  /** Main-thread pause of the scavenges. */
  scavengeMs: number
  /** Time V8's helper threads spent in them (on a server pinned to one core, it shares that core). */
  scavengeHelperMs: number
  /** Young-generation bytes the scavenges found alive (copied within the young generation or promoted). */
  survivedBytes: number
  markCompacts: number
  markCompactMs: number
}

const LINE = /\]\s+(\d+(?:\.\d+)?) ms: (.*)$/

/** Totals of the collections that started within [fromMs, toMs) of the isolate's clock; other lines (log lines) are skipped. */
export function gcTotals (trace: string, fromMs = Number.NEGATIVE_INFINITY, toMs = Number.POSITIVE_INFINITY): GcTotals {
  const totals: GcTotals = { scavenges: 0, scavengeMs: 0, scavengeHelperMs: 0, survivedBytes: 0, markCompacts: 0, markCompactMs: 0 }
  for (const line of trace.split('\n')) {
    const match = LINE.exec(line)
    if (match === null || Number(match[1]) < fromMs || Number(match[1]) >= toMs) continue
    const fields = new Map((match[2] as string).split(/\s+/).map((pair) => pair.split('=') as [string, string]))
    const pause = Number(fields.get('pause') ?? 0)
    if (fields.get('gc') === 's') {
      totals.scavenges++
      totals.scavengeMs += pause
      totals.scavengeHelperMs += Number(fields.get('background.scavenge.parallel') ?? 0)
      totals.survivedBytes += Number(fields.get('new_space_survived') ?? 0)
    } else if (fields.get('gc') === 'mc') {
      totals.markCompacts++
      totals.markCompactMs += pause
    }
  }
  return totals
}
