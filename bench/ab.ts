// Same-run A/B: builds or settings of the mock taking turns with bare Fastify on one workload,
// each round in a shifted order, so that a change's effect is a ratio measured beside what it
// replaced rather than against figures from another run (this machine's speed drifts up to 2x).
// Run: node --import tsx bench/ab.ts --variants before=dist/bundle-before,after=dist/bundle[:ENV=value;…] [--workload W3] [--rounds 4] [--duration 6] [--warmup 2]
// To compare commits: `npm run build` on the old one, copy dist/bundle to dist/bundle-before
// (under dist/, so that its dependencies resolve), then build the new one.
import { benchArgs, commandLine } from './lib/args.js'
import { runLoad } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import { pinSelf, RssSampler } from './lib/proc.js'
import { baselineSpec, mockSpec, startServer, type ServerSpec } from './lib/server.js'
import { fmt, mb, median, ratio, spread } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { parseVariants } from './lib/variants.js'
import { drainJobs, keysFor, workloads, type Workload } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['variants', 'workload', 'rounds'])
const variants = parseVariants(String(args.extra.variants ?? 'mock=dist/bundle'))
const workload = pickWorkload(String(args.extra.workload ?? 'W3'))
const rounds = Number(args.extra.rounds ?? (args.quick ? 1 : 4))
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number from 1: ${String(args.extra.rounds)}`)

function pickWorkload (id: string): Workload {
  const found = workloads().find((each) => each.id === id.toUpperCase())
  if (found === undefined) throw new Error(`--workload takes one of ${workloads().map((each) => each.id).join(', ')}`)
  return found
}

const specs: ServerSpec[] = [baselineSpec({ log: false }), ...variants.map((variant) => {
  const spec = mockSpec({ entry: 'dist', env: variant.env })
  return { ...spec, name: variant.name, nodeArgs: [...spec.nodeArgs.slice(0, -1), variant.entry] }
})]

interface Run { reqPerSec: number, peakRss: number, cpu: number, non2xx: number }

/** Starts one target, warms it, measures the workload, drains its jobs (unless they never run), stops it. */
async function measure (spec: ServerSpec): Promise<Run> {
  const server = await startServer(spec)
  try {
    const keys = keysFor(workload.id, workload.keys)
    const requests = await workload.requests(server.url, keys)
    const drains = spec.name !== 'bare' && workload.createsJobs && spec.env.MOCK_CLOCK !== 'manual'
    if (args.warmup > 0) await runLoad(server.url, requests, { connections: args.connections ?? workload.connections, durationS: args.warmup })
    if (drains) await drainJobs(server.url, keys)
    const sampler = new RssSampler(server.pid)
    const result = await runLoad(server.url, requests, { connections: args.connections ?? workload.connections, durationS: args.duration })
    if (drains) await drainJobs(server.url, keys)
    const { peak, cpu } = sampler.stop()
    return { reqPerSec: result.reqPerSec, peakRss: peak, cpu, non2xx: result.non2xx + result.errors }
  } finally {
    await server.stop()
  }
}

console.log(`# Same-run A/B: ${variants.map((variant) => variant.name).join(' vs ')} on ${workload.id}\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; each target alone on core 0, started fresh, ${args.warmup} s warm-up, ${args.duration} s measured; ${rounds} rounds, the order shifted by one each round`)
for (const variant of variants) console.log(`- ${variant.name}: ${variant.entry}${Object.keys(variant.env).length === 0 ? '' : ` with ${Object.entries(variant.env).map(([key, value]) => `${key}=${value}`).join(' ')}`}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info unless set`)
console.log('- bare: bench/baseline-server.ts without a logger (BASELINE_LOG=none), the 1.00 of every ratio\n')

const runs = new Map<string, Run[]>(specs.map((spec) => [spec.name, []]))
for (let round = 0; round < rounds; round++) {
  const order = specs.map((_, index) => specs[(index + round) % specs.length] as ServerSpec)
  for (const spec of order) {
    const run = await measure(spec)
    runs.get(spec.name)?.push(run)
    console.log(`round ${round + 1}: ${spec.name} ${fmt(run.reqPerSec, 1)} req/s, peak RSS ${mb(run.peakRss)} MB, ${fmt(run.cpu * 100)}% of its core${run.non2xx > 0 ? `, ${run.non2xx} not 2xx` : ''}`)
  }
}

const bare = runs.get('bare') as Run[]
// Answers other than 2xx (a 429 once a manual clock's queue is full, say) are cheaper than the work measured: shown, never hidden.
console.log('\n' + markdownTable(['target', 'req/s', 'req/s × bare', 'peak RSS MB', 'peak RSS × bare', 'not 2xx'], specs.map((spec) => {
  const mine = runs.get(spec.name) as Run[]
  return [
    spec.name,
    fmt(median(mine.map((run) => run.reqPerSec)), 1),
    spread(mine.map((run, index) => ratio(run.reqPerSec, (bare[index] as Run).reqPerSec))),
    mb(median(mine.map((run) => run.peakRss))),
    spread(mine.map((run, index) => ratio(run.peakRss, (bare[index] as Run).peakRss))),
    String(mine.reduce((sum, run) => sum + run.non2xx, 0))
  ]
})))
console.log('\nratios: median (min–max) over the rounds, each against the bare route of its own round')
