// Issue 6, part 4: time from spawning the mock to its first 200 from /__mock/health
// (polled every 5 ms), over several starts; the server pinned to core 0.
// Run: node --import tsx bench/startup.ts [--runs 10] [--profile yes] [--source|--fresh] [--quick]
// --profile yes: one more start under --cpu-prof, with where its CPU time goes, by package
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { benchArgs, commandLine } from './lib/args.js'
import { summarize, type CpuProfile } from './lib/cpuprofile.js'
import { sourceMapLocator } from './lib/sourcemap.js'
import { machineLine } from './lib/machine.js'
import { pinSelf } from './lib/proc.js'
import { baselineSpec, describeEntry, FRESH_DIR, mockSpec, ROOT, startServer } from './lib/server.js'
import { fmt, median, verdict } from './lib/stats.js'
import { markdownTable } from './lib/table.js'

const args = benchArgs(process.argv.slice(2), ['runs', 'profile'])
const runs = Number(args.extra.runs ?? (args.quick ? 3 : 10))

console.log(`# Start-up time\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; mock on core 0: ${describeEntry(args.entry)}, default settings (LOG_LEVEL=info, logs to /dev/null); from spawn (\`taskset -c 0 node …\`) to the first 200 of GET /__mock/health, polled every 5 ms\n`)

const row = (name: string, values: number[]): string[] => [name, String(values.length), fmt(Math.min(...values)), fmt(median(values)), fmt(Math.max(...values))]
const times: number[] = []
for (let run = 0; run < runs; run++) {
  const server = await startServer({ ...mockSpec({ entry: args.entry }), env: { LOG_LEVEL: 'info' } }, { pollMs: 5 })
  times.push(server.readyMs)
  await server.stop()
}
// The same measure of what this machine allows: node:http alone, Fastify alone
// (plain JavaScript, like the mock's build), and the throughput baseline through tsx.
const floors: Array<{ name: string, nodeArgs: string[] }> = [
  { name: 'floor: node:http, nothing loaded', nodeArgs: ['bench/floors/node-http.mjs'] },
  { name: 'floor: Fastify alone, one route', nodeArgs: ['bench/floors/fastify-bare.mjs'] },
  { name: 'baseline-server.ts through tsx', nodeArgs: baselineSpec().nodeArgs }
]
const rows = [row('mock', times)]
for (const floor of floors) {
  const values: number[] = []
  for (let run = 0; run < runs; run++) {
    const server = await startServer({ name: floor.name, nodeArgs: floor.nodeArgs, env: { LOG_LEVEL: 'info' }, healthPath: '/__mock/health' }, { pollMs: 5 })
    values.push(server.readyMs)
    await server.stop()
  }
  rows.push(row(floor.name, values))
}
console.log(markdownTable(['server', 'runs', 'min ms', 'median ms', 'max ms'], rows))
console.log(`\n- ${verdict('start-up median', median(times), 300, false, 0, ' ms').line}`)

if (args.extra.profile !== undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'mock-start-prof-'))
  const server = await startServer({ ...mockSpec({ entry: args.entry, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] }), env: { LOG_LEVEL: 'info' } }, { pollMs: 5 })
  const untilUs = Number(process.hrtime.bigint() / 1000n)
  await server.stop()
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) as string
  const summary = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, [join(ROOT, FRESH_DIR), ROOT], { fromUs: 0, toUs: untilUs }, sourceMapLocator())
  rmSync(dir, { recursive: true, force: true })
  console.log(`\nOne start under --cpu-prof: ready in ${fmt(server.readyMs)} ms, ${fmt(summary.totalMs - summary.idleMs)} ms of CPU until ready, by package:\n`)
  console.log(markdownTable(['package', 'self ms', 'share'], summary.packages.slice(0, 12).map((cost) => [cost.name, fmt(cost.selfMs), `${fmt(cost.share * 100, 1)}%`])))
}
