// Same-run A/B: builds or settings of the mock taking turns with bare Fastify on one workload,
// each round in a shifted order, so that a change's effect is a ratio measured beside what it
// replaced rather than against figures from another run (this machine's speed drifts up to 2x).
// Run: node --import tsx bench/ab.ts --variants before=dist/bundle-before,after=dist/bundle[:ENV=value;…] [--workload W3] [--rounds 4] [--duration 6] [--warmup 2] [--minimal yes] [--gc yes]
// --minimal yes adds issue 17's minimal honest route (bench/minimal-server.ts, W1 only: it has the users route alone) as one more target.
// --gc yes runs every target with V8's --trace-gc-nvp and prints, per answer, the young-generation collections' pause and the
// bytes they found alive (what a target keeps beyond a few requests; the tracing itself costs a little CPU).
// To compare commits: `npm run build` on the old one, copy dist/bundle to dist/bundle-before
// (under dist/, so that its dependencies resolve), then build the new one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchArgs, commandLine } from './lib/args.js'
import { machineLine } from './lib/machine.js'
import { measureWorkload, type Measured } from './lib/measure.js'
import { pinSelf } from './lib/proc.js'
import { baselineSpec, minimalSpec, mockSpec, type ServerSpec } from './lib/server.js'
import { fmt, mb, median, ratio, spread } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { parseVariants } from './lib/variants.js'
import { workloads, type Workload } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['variants', 'workload', 'rounds', 'minimal', 'gc'])
const variants = parseVariants(String(args.extra.variants ?? 'mock=dist/bundle'))
const workload = pickWorkload(String(args.extra.workload ?? 'W3'))
const rounds = Number(args.extra.rounds ?? (args.quick ? 1 : 4))
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number from 1: ${String(args.extra.rounds)}`)

function pickWorkload (id: string): Workload {
  const found = workloads().find((each) => each.id === id.toUpperCase())
  if (found === undefined) throw new Error(`--workload takes one of ${workloads().map((each) => each.id).join(', ')}`)
  return found
}

const withMinimal = args.extra.minimal === 'yes'
const mockNames = new Set(variants.map((variant) => variant.name))
if (withMinimal && mockNames.has('minimal')) throw new Error('a variant named "minimal" would be mistaken for the minimal route: rename it')
if (withMinimal && workload.id !== 'W1') throw new Error('--minimal yes goes with --workload W1: the minimal route answers bulk identify of users alone')
const specs: ServerSpec[] = [baselineSpec({ log: false }), ...(withMinimal ? [minimalSpec()] : []), ...variants.map((variant) => {
  const spec = mockSpec({ entry: 'dist', env: variant.env })
  return { ...spec, name: variant.name, nodeArgs: [...spec.nodeArgs.slice(0, -1), variant.entry] }
})]
const traceDir = args.extra.gc === 'yes' ? mkdtempSync(join(tmpdir(), 'bench-ab-gc-')) : undefined
if (traceDir !== undefined) for (const spec of specs) spec.nodeArgs = ['--trace-gc-nvp', ...spec.nodeArgs]

/** One target: a mock's jobs are drained (unless they never run, under a manual clock), nothing is checked. */
async function measure (spec: ServerSpec, round: number): Promise<Measured> {
  const gcTrace = traceDir === undefined ? undefined : join(traceDir, `${spec.name}-${round}.log`)
  return await measureWorkload({ ...spec, ...(gcTrace === undefined ? {} : { stdoutFile: gcTrace }) }, workload, {
    gcTrace,
    keys: workload.keys,
    connections: args.connections ?? workload.connections,
    warmupS: args.warmup,
    durationS: args.duration,
    drains: mockNames.has(spec.name) && workload.createsJobs && spec.env.MOCK_CLOCK !== 'manual',
    verify: false
  })
}

console.log(`# Same-run A/B: ${variants.map((variant) => variant.name).join(' vs ')} on ${workload.id}\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; each target alone on core 0, started fresh, ${args.warmup} s warm-up, ${args.duration} s measured; ${rounds} rounds, the order shifted by one each round`)
for (const variant of variants) console.log(`- ${variant.name}: ${variant.entry}${Object.keys(variant.env).length === 0 ? '' : ` with ${Object.entries(variant.env).map(([key, value]) => `${key}=${value}`).join(' ')}`}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info unless set`)
if (withMinimal) console.log('- minimal: bench/minimal-server.ts, issue 17\'s minimal honest route (key, TypeBox schema, job id, bounded job map; no journal, no lifecycle, no log line)')
console.log('- bare: bench/baseline-server.ts without a logger (BASELINE_LOG=none), the 1.00 of every ratio\n')

const runs = new Map<string, Measured[]>(specs.map((spec) => [spec.name, []]))
for (let round = 0; round < rounds; round++) {
  const order = specs.map((_, index) => specs[(index + round) % specs.length] as ServerSpec)
  for (const spec of order) {
    const run = await measure(spec, round)
    runs.get(spec.name)?.push(run)
    console.log(`round ${round + 1}: ${spec.name} ${fmt(run.reqPerSec, 1)} req/s, peak RSS ${mb(run.peakRss)} MB, ${fmt(run.cpu * 100)}% of its core${run.non2xx + run.errors > 0 ? `, ${run.non2xx + run.errors} not 2xx` : ''}`)
  }
}

const bare = runs.get('bare') as Measured[]
// Answers other than 2xx (a 429 once a manual clock's queue is full, say) are cheaper than the work measured: shown, never hidden.
console.log('\n' + markdownTable(['target', 'req/s', 'req/s × bare', 'CPU µs per answer: user + kernel', 'peak RSS MB', 'peak RSS × bare', 'not 2xx'], specs.map((spec) => {
  const mine = runs.get(spec.name) as Measured[]
  return [
    spec.name,
    fmt(median(mine.map((run) => run.reqPerSec)), 1),
    spread(mine.map((run, index) => ratio(run.reqPerSec, (bare[index] as Measured).reqPerSec))),
    `${fmt(median(mine.map((run) => run.userUsPerAnswer)), 1)} + ${fmt(median(mine.map((run) => run.systemUsPerAnswer)), 1)}`,
    mb(median(mine.map((run) => run.peakRss))),
    spread(mine.map((run, index) => ratio(run.peakRss, (bare[index] as Measured).peakRss))),
    String(mine.reduce((sum, run) => sum + run.non2xx + run.errors, 0))
  ]
})))
console.log('\nratios: median (min–max) over the rounds, each against the bare route of its own round; CPU per answer: medians, from /proc/<pid>/stat (10 ms ticks) over the measured load')
if (traceDir !== undefined) {
  rmSync(traceDir, { recursive: true, force: true })
  /** The median over the rounds of a figure of the measured load's collections, per answer. */
  const perAnswer = (mine: Measured[], value: (gc: NonNullable<Measured['gc']>) => number): number => median(mine.map((run) => {
    const gc = run.gc as NonNullable<Measured['gc']>
    return value(gc) / gc.answers
  }))
  console.log('\n' + markdownTable(['target', 'scavenges', 'scavenge µs per answer: pause + helper threads', 'bytes surviving a scavenge per answer', 'mark-compact pause µs per answer'], specs.map((spec) => {
    const mine = runs.get(spec.name) as Measured[]
    return [
      spec.name,
      fmt(median(mine.map((run) => run.gc?.scavenges ?? 0))),
      `${fmt(perAnswer(mine, (gc) => gc.scavengeMs * 1000), 1)} + ${fmt(perAnswer(mine, (gc) => gc.scavengeHelperMs * 1000), 1)}`,
      fmt(perAnswer(mine, (gc) => gc.survivedBytes)),
      fmt(perAnswer(mine, (gc) => gc.markCompactMs * 1000), 1)
    ]
  })))
  console.log('\ncollections: medians over the rounds, from V8\'s --trace-gc-nvp lines during the measured load; its helper threads run on the server\'s pinned core too')
}
