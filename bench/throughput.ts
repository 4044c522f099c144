// Issue 6, parts 1 and 2: W1–W5 against the mock and against a plain Fastify
// baseline, one after the other in the same run, each server alone on core 0
// and the load generator (autocannon) on core 1. --rounds n repeats each
// workload's baseline-then-mock pair n times and sums up the same-run ratios
// as medians with their range (the machine's speed drifts between runs).
// Run: node --import tsx bench/throughput.ts [--duration 10] [--warmup 2] [--connections n] [--keys n] [--workloads W1,W5] [--rounds 1] [--source|--fresh] [--quick]
import { benchArgs, commandLine } from './lib/args.js'
import { machineLine } from './lib/machine.js'
import { measureWorkload, type Measured } from './lib/measure.js'
import { pinSelf } from './lib/proc.js'
import { baselineSpec, describeEntry, mockSpec, type ServerSpec } from './lib/server.js'
import { bodySize, fmt, mb, median, ratio, spread, verdict } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { W5_USERS_PER_KEY, workloads, type Workload } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['keys', 'workloads', 'rounds'])
const only = typeof args.extra.workloads === 'string' ? args.extra.workloads.toUpperCase().split(',') : undefined
const rounds = Number(args.extra.rounds ?? 1)
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number from 1: ${String(args.extra.rounds)}`)

/** One server under one workload, as this bench runs it: the mock drains its jobs and is checked. */
async function measure (spec: ServerSpec, workload: Workload): Promise<Measured> {
  const isMock = spec.name === 'mock'
  return await measureWorkload(spec, workload, {
    keys: Number(args.extra.keys ?? workload.keys),
    connections: args.connections ?? workload.connections,
    warmupS: args.warmup,
    durationS: args.duration,
    drains: isMock && workload.createsJobs,
    verify: isMock
  })
}

console.log(`# Throughput: mock vs baseline\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; each server alone on core 0 (taskset -c 0), started fresh per workload, ${args.warmup} s warm-up, then ${args.duration} s measured`)
console.log(`- mock: ${describeEntry(args.entry)}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info, logs to /dev/null (every line is still formatted and written)`)
console.log('- baseline: bench/baseline-server.ts, plain Fastify 5 with its default JSON parser (the body is parsed), no schema, no validation, a static 202 (W4: a static job status of the same size; W5: a static 202 `{}`), pino at info with one line per request to /dev/null')
console.log('- bare: the same server without a logger (BASELINE_LOG=none): bare Fastify answering a static 202, the 1.00 of issue 17\'s targets')
console.log('- server CPU: the share of its core the server used during the measured load (from /proc/<pid>/stat); well under 100% means the load generator or a busy machine, not the server, set the pace')
console.log('- jobs of a key run one at a time, so the requests rotate through several API keys; "drain" is how long after the load stopped every accepted job took to complete')
console.log(`- W5: one POST /v1/identify per request with the headers real clients send (Token key, JSON, X-API-Version), ${W5_USERS_PER_KEY} users per key, each identified with its company and 5 metadata properties, then again with 3 of them changed; a profile is created on its first identify (mostly in the warm-up) and updated on every later one; afterwards the mock must hold the users, the events and no fidelity warnings`)
console.log(rounds === 1 ? '' : `- ${rounds} rounds per workload, each the baseline, the bare route, then the mock; ratios are per round, summed up as median (min–max)\n`)

const rows: string[][] = []
const verdicts: string[] = []
const summaries: string[] = []
const flagged: string[] = []
const notes: string[] = []
for (const workload of workloads()) {
  if (only !== undefined && !only.includes(workload.id)) continue
  const keys = Number(args.extra.keys ?? workload.keys)
  const pairs: Array<{ baseline: Measured, bare: Measured, mock: Measured }> = []
  for (let round = 1; round <= rounds; round++) {
    const baseline = await measure(baselineSpec(), workload)
    const bare = await measure(baselineSpec({ log: false }), workload)
    const mock = await measure(mockSpec({ entry: args.entry }), workload)
    pairs.push({ baseline, bare, mock })
    const label = rounds === 1 ? workload.id : `${workload.id} #${round}`
    for (const run of [baseline, bare, mock]) {
      if (run.cpu < 0.9) notes.push(`${label} ${run.server} used ${fmt(run.cpu * 100)}% of its core: the load generator or other processes set its pace, so its figures understate what it can do`)
      if (run.non2xx > 0 || run.errors > 0) flagged.push(`${label} ${run.server}: ${run.non2xx} non-2xx, ${run.errors} errors (${run.timeouts} timeouts): figures of this run do not measure accepted requests`)
      for (const problem of run.problems) flagged.push(`${label} ${run.server}: ${problem}`)
      rows.push([
        label,
        run.server,
        bodySize(workload.bodyBytes),
        String(args.connections ?? workload.connections),
        String(keys),
        fmt(run.reqPerSec),
        `${fmt(run.cpu * 100)}%`,
        fmt(run.p50Ms, 2),
        fmt(run.p99Ms, 2),
        String(run.errors),
        String(run.non2xx),
        mb(run.peakRss),
        run === baseline ? '1.00' : fmt(ratio(run.reqPerSec, baseline.reqPerSec), 2),
        run === bare ? '1.00' : fmt(ratio(run.reqPerSec, bare.reqPerSec), 2),
        run === baseline ? '1.00' : fmt(ratio(run.p50Ms, baseline.p50Ms), 2),
        run === bare ? '1.00' : fmt(ratio(run.peakRss, bare.peakRss), 2),
        run.drainMs === undefined ? '–' : fmt(run.drainMs / 1000, 2),
        run.drainMs === undefined ? '–' : fmt(run.ok / (run.durationS + run.drainMs / 1000))
      ])
    }
  }
  const of = (pick: (pair: { baseline: Measured, bare: Measured, mock: Measured }) => number): number[] => pairs.map(pick)
  const reqRatios = of((pair) => ratio(pair.mock.reqPerSec, pair.baseline.reqPerSec))
  const bareRatios = of((pair) => ratio(pair.mock.reqPerSec, pair.bare.reqPerSec))
  const rssRatios = of((pair) => ratio(pair.mock.peakRss, pair.bare.peakRss))
  const p50Ratios = of((pair) => ratio(pair.mock.p50Ms, pair.baseline.p50Ms))
  if (rounds > 1) {
    summaries.push(`${workload.id} over ${rounds} rounds, median (min–max): mock ${spread(of((pair) => pair.mock.reqPerSec), 0)} req/s, baseline ${spread(of((pair) => pair.baseline.reqPerSec), 0)} req/s; ` +
      `req/s ÷ base ${spread(reqRatios)}, req/s ÷ bare ${spread(bareRatios)}, p50 ÷ base ${spread(p50Ratios)}, p99 ÷ base ${spread(of((pair) => ratio(pair.mock.p99Ms, pair.baseline.p99Ms)))}, peak RSS ÷ bare ${spread(rssRatios)}`)
  }
  const over = rounds === 1 ? '' : ` (median of ${rounds} rounds)`
  if (workload.id === 'W1') {
    verdicts.push(verdict(`W1 req/s ÷ baseline with its log line${over}`, median(reqRatios), 0.85, true).line)
    verdicts.push(verdict(`W1 req/s ÷ bare Fastify, no log line${over}`, median(bareRatios), 0.5, true).line + ' (issue 17; stretch 0.66)')
  }
  if (workload.id === 'W3') {
    verdicts.push(verdict(`W3 p50 ratio${over}`, median(p50Ratios), 1.5, false).line)
    verdicts.push(verdict(`W3 req/s ÷ bare Fastify${over}`, median(bareRatios), 0.6, true).line + ' (issue 17; stretch 0.76)')
    verdicts.push(verdict(`W3 peak RSS ÷ bare Fastify${over}`, median(rssRatios), 1.5, false).line + ' (issue 17)')
  }
}

console.log(markdownTable(['workload', 'server', 'body', 'conns', 'keys', 'req/s', 'server CPU', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'peak RSS MB', 'req/s ÷ base', 'req/s ÷ bare', 'p50 ÷ base', 'RSS ÷ bare', 'drain s', 'jobs done/s'], rows))
console.log('')
for (const line of summaries) console.log(`- ${line}`)
for (const line of verdicts) console.log(`- ${line}`)
for (const line of notes) console.log(`- NOTE ${line}`)
for (const line of flagged) console.log(`- FLAGGED ${line}`)
if (flagged.length > 0) process.exitCode = 1
