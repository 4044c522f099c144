// Issue 6, part 5: memory of 1,000,000 stored users with 5 metadata fields each, loaded through the
// API in 10,000-row jobs under MOCK_CLOCK=manual (POST /__mock/clock/flush after each), one API key.
// Then checks that what the mock keeps besides users stays bounded: more jobs than
// MOCK_JOB_RETENTION (default 1000) are run, and the job list and the journal must not outgrow it.
// Run: node --import tsx bench/memory.ts [--users 1000000] [--rows 10000] [--source|--fresh] [--quick]
import { benchArgs, commandLine } from './lib/args.js'
import { fiveFieldUsersBody } from './lib/bodies.js'
import { call, type JobView } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import type { MonitorStats } from './lib/loop-monitor.js'
import { memoryOf, pinSelf, RssSampler } from './lib/proc.js'
import { describeEntry, mockSpec, startServer } from './lib/server.js'
import { fmt, mb } from './lib/stats.js'
import { markdownTable } from './lib/table.js'

const args = benchArgs(process.argv.slice(2), ['users', 'rows'])
const users = Number(args.extra.users ?? (args.quick ? 100_000 : 1_000_000))
const rows = Number(args.extra.rows ?? 10_000)
const KEY = 'bench-memory'
const RETENTION = 1000
const JOURNAL = 1000
const QUEUE_ROUND = 50

console.log(`# Memory: ${fmt(users)} users with 5 metadata fields\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; mock on core 0: ${describeEntry(args.entry)}, MOCK_CLOCK=manual MOCK_CONCURRENCY=queue, MOCK_JOB_RETENTION and MOCK_JOURNAL_SIZE at their defaults (${RETENTION}), LOG_LEVEL=info to /dev/null, --expose-gc, bench/lib/loop-monitor.ts preloaded for heap figures`)
console.log(`- ${users / rows} jobs of ${fmt(rows)} rows through POST /v1/users/bulk_identify, each followed by POST /__mock/clock/flush; RSS from /proc/<pid>/status after a full GC\n`)

const server = await startServer(mockSpec({ entry: args.entry, monitor: true, nodeFlags: ['--expose-gc'], env: { MOCK_CLOCK: 'manual' } }))
try {
  const settled = async (): Promise<{ rss: number, heap: number }> => {
    const stats = await server.monitor({ type: 'stats', gc: true }) as MonitorStats
    return { rss: memoryOf(server.pid)?.rss ?? Number.NaN, heap: stats.memory.heapUsed }
  }
  const before = await settled()
  const sampler = new RssSampler(server.pid)
  const started = performance.now()
  for (let offset = 0; offset < users; offset += rows) {
    await call<JobView>(server.url, 'POST', '/v1/users/bulk_identify', KEY, fiveFieldUsersBody(Math.min(rows, users - offset), offset), 202)
    await call(server.url, 'POST', '/__mock/clock/flush', KEY, '{}')
  }
  const seconds = (performance.now() - started) / 1000
  const after = await settled()
  const { peak } = sampler.stop()
  await call(server.url, 'GET', `/__mock/users/user_${users - 1}`, KEY)

  // More jobs than retained: the list of jobs and the journal must stay at their bounds.
  // Flushed in rounds, as MOCK_QUEUE_LIMIT (default 100) refuses more waiting jobs per key.
  const extra = RETENTION + 50 - users / rows
  for (let job = 0; job < extra; job++) {
    await call(server.url, 'POST', '/v1/users/bulk_identify', KEY, '{"users":[{"user_id":"user_0","metadata":{"seats":1}}]}', 202)
    if (job % QUEUE_ROUND === QUEUE_ROUND - 1) await call(server.url, 'POST', '/__mock/clock/flush', KEY, '{}')
  }
  await call(server.url, 'POST', '/__mock/clock/flush', KEY, '{}')
  const listed = await call<JobView[]>(server.url, 'GET', '/v1/background_jobs?limit=1000&offset=0', KEY)
  const beyond = await call<JobView[]>(server.url, 'GET', '/v1/background_jobs?limit=1000&offset=1000', KEY)
  const journal = await call<unknown[]>(server.url, 'GET', '/__mock/requests?limit=1000', KEY)
  const journalBeyond = await call<unknown[]>(server.url, 'GET', '/__mock/requests?limit=1000&offset=1000', KEY)
  const end = await settled()

  console.log(markdownTable(['', 'RSS MB', 'heap used MB'], [
    ['started, idle', mb(before.rss), mb(before.heap)],
    [`${fmt(users)} users stored`, mb(after.rss), mb(after.heap)],
    [`after ${fmt(users / rows + extra)} jobs in all`, mb(end.rss), mb(end.heap)],
    ['peak while loading (sampled every 100 ms)', mb(peak), '–']
  ]))
  const jobs = listed.length + beyond.length
  const journalSize = journal.length + journalBeyond.length
  console.log('')
  console.log(`- bytes per user: ${fmt((after.rss - before.rss) / users)} (RSS), ${fmt((after.heap - before.heap) / users)} (heap), 5 metadata fields and a company each`)
  console.log(`- load: ${fmt(users / seconds)} users/s through the API (request, validation, job, flush)`)
  console.log(`- jobs kept: ${jobs} after ${users / rows + extra} jobs (retention ${RETENTION}, none active): ${jobs <= RETENTION ? 'bounded' : 'NOT bounded'}`)
  console.log(`- journal entries: ${journalSize} (MOCK_JOURNAL_SIZE ${JOURNAL}): ${journalSize <= JOURNAL ? 'bounded' : 'NOT bounded'}`)
  if (jobs > RETENTION || journalSize > JOURNAL) process.exitCode = 1
} finally {
  await server.stop()
}
