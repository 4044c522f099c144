// Issue 6, part 3: does the mock stay responsive while 10,000-row jobs are applied back to back?
// One client polls a job's status (one keep-alive connection, a request every --gap ms) while jobs
// run; its p99 is compared with the same polling on the idle mock, and the mock's own event loop
// delay (perf_hooks.monitorEventLoopDelay, preloaded by bench/lib/loop-monitor.ts) is read over IPC.
//   A. processing only: jobs submitted first (MOCK_CLOCK=manual), then run back to back by
//      POST /__mock/clock/flush (the same chunked path as the automatic clock): the targets.
//   B. submitting and processing: MOCK_CLOCK=auto, MOCK_STAGE_MS=0, the next 2.5 MB body sent as
//      soon as the previous one is accepted; its parsing (one JSON.parse) shows in the figures.
// Run: node --import tsx bench/responsiveness.ts [--jobs 10] [--rounds 6] [--rows 10000] [--gap 2] [--idle 3] [--source|--fresh] [--quick]
import { benchArgs, commandLine } from './lib/args.js'
import { usersBody } from './lib/bodies.js'
import { call, headersFor, waitForJob, type JobView } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import type { MonitorStats } from './lib/loop-monitor.js'
import { Poller } from './lib/poller.js'
import { pinSelf } from './lib/proc.js'
import { describeEntry, mockSpec, startServer, type RunningServer } from './lib/server.js'
import { fmt, percentile, ratio, verdict } from './lib/stats.js'
import { markdownTable } from './lib/table.js'

const args = benchArgs(process.argv.slice(2), ['jobs', 'rows', 'gap', 'idle', 'rounds'])
const jobs = Number(args.extra.jobs ?? (args.quick ? 3 : 10))
// A is repeated: ten jobs are applied in a fraction of a second, too few polls for a p99 of one round.
const rounds = Number(args.extra.rounds ?? (args.quick ? 1 : 6))
const rows = Number(args.extra.rows ?? 10_000)
const gapMs = Number(args.extra.gap ?? 2)
const idleS = Number(args.extra.idle ?? (args.quick ? 1 : 3))
const KEY = 'bench-responsiveness'
const body = usersBody(rows)

interface Phase { name: string, latencies: number[], failures: number, loop: MonitorStats['loop'], gc: MonitorStats['gc'], seconds: number }

/** Polls the status of `jobId` while `work` runs; the loop histogram is reset at the start. */
async function pollDuring (server: RunningServer, jobId: string, name: string, work: () => Promise<void>): Promise<Phase> {
  await server.monitor({ type: 'loop-reset' })
  const poller = new Poller(`${server.url}/v1/background_jobs/${encodeURIComponent(jobId)}`, headersFor(KEY), gapMs)
  const started = performance.now()
  await work()
  const seconds = (performance.now() - started) / 1000
  const latencies = await poller.stop()
  const stats = await server.monitor({ type: 'stats' }) as MonitorStats
  return { name, latencies, failures: poller.failures, loop: stats.loop, gc: stats.gc, seconds }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

console.log(`# Responsiveness while 10,000-row jobs run\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; mock on core 0: ${describeEntry(args.entry)}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info, logs to /dev/null, bench/lib/loop-monitor.ts preloaded (event loop delay at 1 ms resolution)`)
console.log(`- A: ${rounds} rounds of ${jobs} jobs; B: ${jobs} jobs; ${rows} rows a job (${fmt(body.length / 1024 / 1024, 2)} MB each); status polled on one keep-alive connection, ${gapMs} ms between requests\n`)

const phases: Phase[] = []
// A: manual clock, jobs queued first, then flushed.
const manual = await startServer(mockSpec({ entry: args.entry, monitor: true, env: { MOCK_CLOCK: 'manual' } }))
let processingRate = Number.NaN
try {
  const polled = (await call<JobView>(manual.url, 'POST', '/v1/users/bulk_identify', KEY, '{"users":[{"user_id":"polled"}]}', 202)).job_id
  await call(manual.url, 'POST', '/__mock/clock/flush', KEY, '{}')
  // Warm-up: the first polls compile the route's code; they are not the idle figure.
  await pollDuring(manual, polled, 'warm-up', async () => await sleep(500))
  phases.push(await pollDuring(manual, polled, 'idle', async () => await sleep(idleS * 1000)))
  const each: Phase[] = []
  for (let round = 0; round < rounds; round++) {
    for (let job = 0; job < jobs; job++) await call(manual.url, 'POST', '/v1/users/bulk_identify', KEY, body, 202)
    each.push(await pollDuring(manual, polled, 'A', async () => { await call(manual.url, 'POST', '/__mock/clock/flush', KEY, '{}') }))
  }
  // Rounds pooled: every poll counts; the loop figures are the worst round's.
  const seconds = each.reduce((sum, phase) => sum + phase.seconds, 0)
  processingRate = rounds * jobs * rows / seconds
  phases.push({
    name: `A. ${rounds} × ${jobs} jobs flushed back to back`,
    latencies: each.flatMap((phase) => phase.latencies).sort((a, b) => a - b),
    failures: each.reduce((sum, phase) => sum + phase.failures, 0),
    loop: { ...(each[0] as Phase).loop, p99Ms: Math.max(...each.map((phase) => phase.loop.p99Ms)), maxMs: Math.max(...each.map((phase) => phase.loop.maxMs)) },
    gc: { maxMs: Math.max(...each.map((phase) => phase.gc.maxMs)), totalMs: each.reduce((sum, phase) => sum + phase.gc.totalMs, 0), count: each.reduce((sum, phase) => sum + phase.gc.count, 0) },
    seconds
  })
} finally {
  await manual.stop()
}

// B: automatic clock, each body sent as soon as the previous one was accepted.
const auto = await startServer(mockSpec({ entry: args.entry, monitor: true }))
try {
  const polled = (await call<JobView>(auto.url, 'POST', '/v1/users/bulk_identify', KEY, '{"users":[{"user_id":"polled"}]}', 202)).job_id
  await waitForJob(auto.url, KEY, polled)
  phases.push(await pollDuring(auto, polled, `B. ${jobs} jobs submitted while running`, async () => {
    let last = ''
    for (let job = 0; job < jobs; job++) last = (await call<JobView>(auto.url, 'POST', '/v1/users/bulk_identify', KEY, body, 202)).job_id
    await waitForJob(auto.url, KEY, last, { everyMs: 10 })
  }))
} finally {
  await auto.stop()
}

const idle = phases[0] as Phase
const p99 = (phase: Phase): number => percentile(phase.latencies, 0.99)
console.log(markdownTable(['phase', 'seconds', 'polls', 'failed', 'poll p50 ms', 'poll p99 ms', 'poll max ms', 'p99 ÷ idle', 'loop delay p99 ms (worst round)', 'loop delay max ms', 'GC max pause ms', 'GC total ms'], phases.map((phase) => [
  phase.name, fmt(phase.seconds, 2), String(phase.latencies.length), String(phase.failures),
  fmt(percentile(phase.latencies, 0.5), 2), fmt(p99(phase), 2), fmt(percentile(phase.latencies, 1), 2),
  fmt(ratio(p99(phase), p99(idle)), 2), fmt(phase.loop.p99Ms, 2), fmt(phase.loop.maxMs, 2), fmt(phase.gc.maxMs, 2), fmt(phase.gc.totalMs)
])))
console.log('\nLoop delay includes garbage-collection pauses and any time the OS gave core 0 to another process; GC columns tell the first apart.')
console.log(`\nRows applied in A: ${fmt(processingRate)} rows/s while polled.\n`)
const processing = phases[1] as Phase
console.log(`- ${verdict('A status-poll p99 ÷ idle p99', ratio(p99(processing), p99(idle)), 2, false).line}`)
console.log(`- ${verdict('A event loop max delay', processing.loop.maxMs, 20, false, 1, ' ms').line}`)
const mixed = phases[2] as Phase
console.log(`- (for information) B status-poll p99 ÷ idle p99 ${fmt(ratio(p99(mixed), p99(idle)), 2)}, event loop max delay ${fmt(mixed.loop.maxMs, 1)} ms: includes parsing each 2.5 MB body in one synchronous JSON.parse`)
if (phases.some((phase) => phase.failures > 0)) {
  console.log('- FLAGGED: some polls were not answered 200')
  process.exitCode = 1
}
