// Issue 6, part 2: CPU profiles of the mock under W1 and W3 (`node --cpu-prof`),
// with the top costs by self time per function, file and package.
// Run: node --import tsx bench/profile.ts [--workloads W1,W3] [--duration 10] [--top 15] [--keep yes] [--source|--fresh] [--quick]
// Places in the project are mapped back to src/*.ts through the build's source maps; with
// --source (tsx) they are not, so profile a build: --fresh (src/ compiled to a cache folder) or dist/.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchArgs, commandLine } from './lib/args.js'
import { summarize, type Cost, type CpuProfile } from './lib/cpuprofile.js'
import { runLoad } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import { pinSelf } from './lib/proc.js'
import { baselineSpec, describeEntry, FRESH_DIR, mockSpec, ROOT, startServer, unbundled } from './lib/server.js'
import { sourceMapLocator } from './lib/sourcemap.js'
import { fmt } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { drainJobs, keysFor, workloads } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['keys', 'workloads', 'top', 'keep', 'server'])
// --server baseline profiles bench/baseline-server.ts instead, to compare the same costs (e.g. writev) on both.
const profiled = args.extra.server === 'baseline' ? 'baseline' : 'mock'
const only = (typeof args.extra.workloads === 'string' ? args.extra.workloads : 'W1,W3').toUpperCase().split(',')
const top = Number(args.extra.top ?? 15)

function costTable (title: string, costs: Cost[], count: number): string {
  return `${title}\n\n` + markdownTable(['#', 'self ms', 'share', 'where'], costs.slice(0, count).map((cost, index) => [
    String(index + 1), fmt(cost.selfMs), `${fmt(cost.share * 100, 1)}%`, cost.name.replace(/\|/g, '\\|')
  ]))
}

console.log(`# CPU profile of the mock\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; mock on core 0: the tsc build the bundle is made of (its modules keep their names and source maps; ${describeEntry(args.entry)} runs the same code), MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info, logs to /dev/null`)
console.log(`- profile: the samples of the ${args.duration} s of load and the drain of its jobs (after ${args.warmup} s of warm-up; start-up and shut-down left out), V8 sampling profiler at its default interval\n`)

for (const workload of workloads()) {
  if (!only.includes(workload.id)) continue
  const dir = mkdtempSync(join(tmpdir(), `mock-prof-${workload.id}-`))
  const nodeFlags = ['--cpu-prof', '--cpu-prof-dir', dir]
  const server = await startServer(profiled === 'baseline' ? baselineSpec({ nodeFlags }) : unbundled(mockSpec({ entry: args.entry, nodeFlags })))
  const keys = keysFor(workload.id, Number(args.extra.keys ?? workload.keys))
  const requests = await workload.requests(server.url, keys)
  const connections = args.connections ?? workload.connections
  if (args.warmup > 0) {
    await runLoad(server.url, requests, { connections, durationS: args.warmup })
    if (workload.createsJobs && profiled === 'mock') await drainJobs(server.url, keys)
  }
  // Only the measured load and the drain of its jobs count: not start-up, warm-up or shut-down.
  const fromUs = Number(process.hrtime.bigint() / 1000n)
  const result = await runLoad(server.url, requests, { connections, durationS: args.duration })
  if (workload.createsJobs && profiled === 'mock') await drainJobs(server.url, keys)
  const toUs = Number(process.hrtime.bigint() / 1000n)
  const code = await server.stop()
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
  if (file === undefined) {
    console.log(`## ${workload.id}: no profile written (the mock exited with ${String(code)})\n`)
    continue
  }
  const summary = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, [join(ROOT, FRESH_DIR), ROOT], { fromUs, toUs }, sourceMapLocator())
  const busy = summary.totalMs - summary.idleMs
  console.log(`## ${workload.id} (${workload.title}): ${fmt(result.reqPerSec)} req/s, ${result.non2xx} non-2xx; ${fmt(summary.totalMs)} ms sampled in the load and drain window, ${fmt(busy)} ms busy (${fmt(100 * busy / summary.totalMs, 0)}%); shares below are of the busy time\n`)
  console.log(costTable(`Top ${top} functions by self time`, summary.functions, top) + '\n')
  console.log(costTable('Top 10 files', summary.files, 10) + '\n')
  console.log(costTable('Packages', summary.packages, 12) + '\n')
  if (args.extra.keep === undefined) rmSync(dir, { recursive: true, force: true })
  else console.log(`profile kept: ${join(dir, file)}\n`)
}
