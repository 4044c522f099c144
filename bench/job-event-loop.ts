// Prints how long the event loop is blocked while 10,000-row jobs are applied
// (MOCK_STAGE_MS=0, so rows are applied as fast as the chunking allows).
// Run: npx tsx bench/job-event-loop.ts [jobs=5] [rows=10000]
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { MemoryStore } from '../src/store/memory-store.js'

/** Times each chunk the runner applies: the longest stretch the mock's own code holds the loop. */
class TimedStore extends MemoryStore {
  readonly chunks: number[] = []
  override async applyRows (...args: Parameters<MemoryStore['applyRows']>): ReturnType<MemoryStore['applyRows']> {
    const start = performance.now()
    const result = await super.applyRows(...args)
    this.chunks.push(performance.now() - start)
    return result
  }
}

const jobs = Number(process.argv[2] ?? 5)
const rows = Number(process.argv[3] ?? 10_000)
const store = new TimedStore({ jobRetention: 1000 })
const app = await buildApp({ logger: false, store, config: { MOCK_STAGE_MS: 0 } })
const headers = { authorization: 'Token bench', 'content-type': 'application/json' }
const body = (job: number): string => JSON.stringify({
  users: Array.from({ length: rows }, (_, i) => ({
    user_id: `u${i}`,
    company_id: `c${i % 100}`,
    metadata: { name: `User ${i}`, email: `u${i}@example.com`, plan: i % 2 === 0 ? 'pro' : 'free', seats: i, active: true, job }
  }))
})

const histogram = monitorEventLoopDelay({ resolution: 1 })
const started = performance.now()
for (let job = 0; job < jobs; job++) {
  const payload = body(job)
  const res = await app.inject({ method: 'POST', url: '/v1/users/bulk_identify', headers, payload })
  const { job_id: jobId } = res.json<{ job_id: string }>()
  // Measured from the 202 on: the request's own parsing is the request's cost, not the job's.
  histogram.enable()
  for (;;) {
    const status = (await app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers })).json<{ status: string }>()
    if (status.status === 'completed') break
    await new Promise((resolve) => setImmediate(resolve))
  }
  histogram.disable()
}
const seconds = (performance.now() - started) / 1000
console.log(`jobs: ${jobs} × ${rows} rows in ${seconds.toFixed(2)} s (${Math.round(jobs * rows / seconds)} rows/s including request parsing)`)
console.log(`event loop delay while processing: p50 ${(histogram.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(2)} ms, max ${(histogram.max / 1e6).toFixed(2)} ms`)
const sorted = [...store.chunks].sort((a, b) => a - b)
const at = (q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number).toFixed(2)
console.log(`chunks of rows applied: ${sorted.length}, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms (the rest of the delay above is GC and request work)`)
await app.close()
