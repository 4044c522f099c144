// Issue 16, part 5: an export of many events is written a chunk at a time, never held whole in
// memory. 100,000 kept events (real-time shape, 4 metadata fields) are exported as each format
// under MOCK_CLOCK=manual (POST /__mock/clock/flush runs the job to its end), each run in a fresh
// process. Baseline in the same run: the same process reading the same events through the event
// store a chunk at a time and doing nothing with them (the floor of any export).
// Figures: time of the export, the process's RSS before it, its peak during it (the kernel's
// VmHWM, reset just before), and the bytes written.
// With --heap-cap <MiB>, every run gets --max-old-space-size=<MiB>: a peak that stays put under a
// cap far below the export's size shows that the peak without one is garbage V8 had not yet
// collected, not the export held in memory.
// Run: node --import tsx bench/export.ts [--events 100000] [--reps 3] [--formats ndjson,parquet,csv,avro] [--heap-cap 256]
import { spawnSync } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { buildApp } from '../src/app.js'
import { machineLine } from './lib/machine.js'
import { memoryOf, resetPeak } from './lib/proc.js'
import { fmt, mb, median, spread } from './lib/stats.js'
import { markdownTable } from './lib/table.js'

interface Sample { mode: string, ms: number, rssBefore: number, peak: number, bytes: number, files: number }

const argv = process.argv.slice(2)
const flag = (name: string, fallback: string): string => {
  const at = argv.indexOf(`--${name}`)
  return at >= 0 ? argv[at + 1] as string : fallback
}
const events = Number(flag('events', '100000'))

async function child (mode: string): Promise<Sample> {
  const KEY = 'bench-export'
  const app = await buildApp({ logger: false, config: { MOCK_CLOCK: 'manual', MOCK_EVENT_RETENTION: events } })
  const { store } = app.mock
  const tenant = (await import('../src/tenant.js')).tenantOf(KEY)
  const t0 = Date.parse('2025-05-19T07:29:12.000Z')
  for (let n = 0; n < events; n++) {
    await store.events.append({ tenant: tenant.id, eventType: n % 10 === 0 ? 'identify_user' : 'track', eventName: n % 10 === 0 ? '' : `Event ${n % 50}`, userId: `user-${n % 5000}`, companyId: `company-${n % 300}`, metadata: { plan: 'pro', seats: n % 100, active: n % 2 === 0, note: `row ${n}` }, source: 'backend-http', insertedAt: t0 + n, requestId: `req-${n}` })
  }
  ;(globalThis as { gc?: () => void }).gc?.()
  const rssBefore = memoryOf(process.pid)?.rss ?? Number.NaN
  resetPeak(process.pid)
  const started = performance.now()
  let bytes = 0
  let files = 0
  if (mode === 'baseline') {
    const chunk = app.mock.config.MOCK_EXPORT_CHUNK_EVENTS
    for (let after = 0; ;) {
      const window = await store.events.scan(tenant.id, after, chunk)
      if (window.length === 0) break
      after = (window.at(-1) as { seq: number }).seq
      files++
    }
  } else {
    const auth = { authorization: `Token ${KEY}` }
    const created = await app.inject({ method: 'POST', url: '/api/v1/analytics/exports', headers: { ...auth, 'content-type': 'application/json' }, payload: { format: mode } })
    const jobId = created.json<{ job_id: string }>().job_id
    await app.inject({ method: 'POST', url: '/__mock/clock/flush', headers: auth })
    const job = await store.exports.get(tenant.id, jobId)
    if (job?.status !== 'completed') throw new Error(`export ended ${String(job?.status)}`)
    for (const chunk of job.chunks) { bytes += chunk.bytes; files++ }
    if (job.chunks.reduce((sum, chunk) => sum + chunk.events, 0) !== events) throw new Error('events lost')
  }
  const ms = performance.now() - started
  const peak = memoryOf(process.pid)?.hwm ?? Number.NaN
  await app.close()
  return { mode, ms, rssBefore, peak, bytes, files }
}

if (argv[0] === '--child') {
  console.log(JSON.stringify(await child(argv[1] as string)))
} else {
  const reps = Number(flag('reps', '3'))
  const modes = ['baseline', ...flag('formats', 'ndjson,parquet,csv,avro').split(',')]
  const cap = flag('heap-cap', '')
  const nodeFlags = ['--expose-gc', ...(cap === '' ? [] : [`--max-old-space-size=${cap}`])]
  console.log(`# Export of ${fmt(events)} events\n\n${machineLine()}\n`)
  console.log(`- command: \`node --import tsx bench/export.ts ${argv.join(' ')}\`; each run a fresh process (${nodeFlags.join(' ')}), modes alternated, ${reps} reps; in-process app, memory store, MOCK_CLOCK=manual, MOCK_EVENT_RETENTION=${events}, chunks of MOCK_EXPORT_CHUNK_EVENTS (default 10,000)`)
  console.log('- baseline: the same events read through the event store a chunk at a time, nothing written\n')
  const samples: Sample[] = []
  for (let rep = 0; rep < reps; rep++) {
    for (const mode of modes) {
      const run = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', 'bench/export.ts', '--child', mode, '--events', String(events)], { encoding: 'utf8', maxBuffer: 1 << 20 })
      if (run.status !== 0) throw new Error(`${mode}: ${run.stderr}`)
      samples.push(JSON.parse(run.stdout.trim().split('\n').at(-1) as string) as Sample)
    }
  }
  const base = samples.filter((sample) => sample.mode === 'baseline')
  const rows = modes.map((mode) => {
    const own = samples.filter((sample) => sample.mode === mode)
    const ms = own.map((sample) => sample.ms)
    const growth = own.map((sample) => sample.peak - sample.rssBefore)
    return [mode, `${spread(ms, 0)} ms`, `${(median(ms) / median(base.map((sample) => sample.ms))).toFixed(1)}×`, mb(median(own.map((sample) => sample.rssBefore))), mb(median(own.map((sample) => sample.peak))), spread(growth.map((g) => g / 1048576), 1), mode === 'baseline' ? '–' : `${mb(median(own.map((sample) => sample.bytes)))} in ${own[0]?.files ?? 0} files`]
  })
  console.log(markdownTable(['mode', 'time (median, range)', '× baseline', 'RSS before (MiB)', 'peak RSS during (MiB)', 'peak − before (MiB, range)', 'written (MiB)'], rows))
}
