// Preloaded into a server under test (`node --import tsx --import ./bench/lib/loop-monitor.ts …`)
// when the bench needs figures from inside it: the event loop's delay and the heap.
// It answers messages on the IPC channel the bench opened; nothing else changes in the server.
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'

/** What the bench asks the server over IPC. */
export type MonitorRequest = { type: 'loop-reset' } | { type: 'stats', gc?: boolean }

/** What the server answers: event loop delay in ms since the last reset, and process.memoryUsage() in bytes. */
export interface MonitorStats {
  loop: { minMs: number, p50Ms: number, p99Ms: number, maxMs: number, meanMs: number, count: number }
  /** Garbage collections since the last reset: the longest pause and the total, in ms. */
  gc: { maxMs: number, totalMs: number, count: number }
  memory: NodeJS.MemoryUsage
}

if (typeof process.send === 'function') {
  // 1 ms resolution: a stall shorter than the sampling period still shows in max.
  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  const ms = (ns: number): number => ns / 1e6
  // A stop-the-world collection shows as loop delay too: counted apart, to tell the two causes apart.
  const gc = { maxMs: 0, totalMs: 0, count: 0 }
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.maxMs = Math.max(gc.maxMs, entry.duration)
      gc.totalMs += entry.duration
      gc.count++
    }
  }).observe({ entryTypes: ['gc'] })
  process.on('message', (message: MonitorRequest) => {
    if (message.type === 'loop-reset') {
      histogram.reset()
      Object.assign(gc, { maxMs: 0, totalMs: 0, count: 0 })
      process.send?.({ type: 'loop-reset' })
      return
    }
    const collect = (globalThis as { gc?: () => void }).gc
    if (message.gc === true && collect !== undefined) collect()
    const stats: MonitorStats = {
      loop: { minMs: ms(histogram.min), p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max), meanMs: ms(histogram.mean), count: histogram.count },
      memory: process.memoryUsage(),
      gc: { ...gc }
    }
    process.send?.({ type: 'stats', stats })
  })
  // The channel must not keep the server alive once it has closed on SIGTERM.
  process.channel?.unref()
}
