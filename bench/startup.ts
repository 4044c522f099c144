// Start-up: from spawning a server to its first 200 from GET /__mock/health (polled every
// 5 ms), each server pinned to core 0. Each run starts every server once, in turn, so each
// ratio to bare Fastify is of the same run; the table gives medians with their range.
// The mock runs as users start it: `npm start`'s command line (which the Docker image's CMD
// repeats), and the bin through its #! line; the tsc build it replaced, for the record.
// Then, in a process of its own: `startMock()` to ready (cold and again) and `reset()`.
// Run: node --import tsx bench/startup.ts [--runs 10] [--image-node <path to node>] [--profile yes] [--source|--fresh] [--quick]
// --image-node: the same race on another Node.js (the Docker image's major, e.g. from the npm
// registry's `node` package, as .ci/node-lts-tests.sh installs it)
// --profile yes: one more start under --cpu-prof, with where its CPU time goes, by package
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { benchArgs, commandLine } from './lib/args.js'
import { summarize, type CpuProfile } from './lib/cpuprofile.js'
import { sourceMapLocator } from './lib/sourcemap.js'
import { machineLine } from './lib/machine.js'
import { canPin, pinSelf } from './lib/proc.js'
import { dockerFlags } from './lib/start-flags.js'
import { FRESH_DIR, mockSpec, ROOT, startServer, unbundled, type ServerSpec } from './lib/server.js'
import { fmt, median, ratio, spread, verdict } from './lib/stats.js'
import { markdownTable } from './lib/table.js'

const args = benchArgs(process.argv.slice(2), ['runs', 'profile', 'image-node'])
const runs = Number(args.extra.runs ?? (args.quick ? 3 : 10))
const imageNode = typeof args.extra['image-node'] === 'string' ? resolve(args.extra['image-node']) : undefined

const env = { LOG_LEVEL: 'info' }
const mock = mockSpec({ entry: args.entry, env })
const entryFile = mock.nodeArgs.at(-1) as string
const bare: ServerSpec = { name: 'bare Fastify', nodeArgs: ['bench/floors/fastify-bare.mjs'], env, healthPath: '/__mock/health' }
const targets: ServerSpec[] = [
  bare,
  { ...mock, name: 'mock: npm start (and the Docker CMD)', env },
  ...(args.entry === 'source' ? [] : [{ ...mock, name: 'mock: the bin, through its #! line', nodeArgs: [], exec: resolve(ROOT, entryFile), env }]),
  ...(args.entry === 'source' ? [] : [{ ...unbundled(mock), name: 'mock: the tsc build, unbundled (before)', env }]),
  { name: 'floor: node:http, nothing loaded', nodeArgs: ['bench/floors/node-http.mjs'], env, healthPath: '/__mock/health' }
]
if (imageNode !== undefined) {
  const cmdFlags = dockerFlags(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))
  targets.push(
    { ...bare, name: 'image Node.js: bare Fastify', exec: imageNode },
    { ...mock, name: 'image Node.js: mock, the Docker CMD', nodeArgs: [...cmdFlags, entryFile], exec: imageNode, env }
  )
}

/** Spawn to first healthy answer, one run: every target once, in turn (the order moves by one each run). */
async function race (run: number): Promise<Map<string, number>> {
  const times = new Map<string, number>()
  for (let i = 0; i < targets.length; i++) {
    const target = targets[(i + run) % targets.length] as ServerSpec
    const server = await startServer(target, { pollMs: 5 })
    times.set(target.name, server.readyMs)
    await server.stop()
  }
  return times
}

console.log(`# Start-up time\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; each server on core 0, from spawn (\`taskset -c 0 …\`) to the first 200 of GET /__mock/health, polled every 5 ms; default settings (LOG_LEVEL=info, logs to /dev/null)`)
console.log(`- ${runs} runs; each starts every server once, in turn (the order moves by one each run); ratios are to bare Fastify of the same run (the image's Node.js rows to bare Fastify on that Node.js), as median (min–max)`)
console.log(`- mock: \`node ${mock.nodeArgs.join(' ')}\`; bare Fastify: bench/floors/fastify-bare.mjs (one route, pino at info, plain JavaScript)${imageNode === undefined ? '' : `; image Node.js: ${spawnSync(imageNode, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${imageNode})`}\n`)

const perRun: Array<Map<string, number>> = []
for (let run = 0; run < runs; run++) perRun.push(await race(run))
const timesOf = (name: string): number[] => perRun.map((times) => times.get(name) as number)
const rows = targets.map((target) => {
  const baseline = target.name.startsWith('image Node.js') ? 'image Node.js: bare Fastify' : bare.name
  const ratios = perRun.map((times) => ratio(times.get(target.name) as number, times.get(baseline) as number))
  return { name: target.name, times: timesOf(target.name), ratios }
})
console.log(markdownTable(['server', 'ready ms, median (min–max)', '× bare Fastify, same run'], rows.map((row) => [row.name, spread(row.times, 0), spread(row.ratios)])))
console.log('')
for (const row of rows.filter((each) => each.name.includes('mock') && !each.name.includes('unbundled'))) {
  console.log(`- ${verdict(`${row.name}: start-up ÷ bare Fastify`, median(row.ratios), 1.5, false).line} (stretch 1.25)`)
}

// In-process, as a test suite uses the library: startMock() to ready, and reset() between tests.
if (args.entry !== 'source') {
  const argv = [...(canPin() ? ['taskset', '-c', '0'] : []), process.execPath, 'bench/lib/in-process-start.mjs', '--starts', String(Math.max(3, runs)), '--resets', '20']
  const child = spawnSync(argv[0] as string, argv.slice(1), { cwd: ROOT, encoding: 'utf8' })
  const line = child.stdout.trim().split('\n').at(-1) ?? ''
  if (child.status !== 0 || !line.startsWith('{')) throw new Error(`bench/lib/in-process-start.mjs failed: ${child.stderr}`)
  const inProcess = JSON.parse(line) as { importMs: number, coldMs: number, warmMs: number[], resetMs: number[] }
  console.log('\nIn process (bench/lib/in-process-start.mjs, the built library dist/src/index.js, core 0):\n')
  console.log(markdownTable(['step', 'ms'], [
    ['`import` of the library, first time', fmt(inProcess.importMs)],
    ['first `startMock()` to ready, the import included', fmt(inProcess.coldMs)],
    [`\`startMock()\` again, median (min–max) of ${inProcess.warmMs.length}`, spread(inProcess.warmMs, 0)],
    [`\`reset()\` after a test's worth of state (a 100-row job, 10 identify, 10 track), median (min–max) of ${inProcess.resetMs.length}`, spread(inProcess.resetMs, 1)]
  ]))
}

if (args.extra.profile !== undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'mock-start-prof-'))
  const server = await startServer({ ...mockSpec({ entry: args.entry, nodeFlags: ['--cpu-prof', '--cpu-prof-dir', dir] }), env }, { pollMs: 5 })
  const untilUs = Number(process.hrtime.bigint() / 1000n)
  await server.stop()
  const file = readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) as string
  const summary = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, [join(ROOT, FRESH_DIR), ROOT], { fromUs: 0, toUs: untilUs }, sourceMapLocator())
  rmSync(dir, { recursive: true, force: true })
  console.log(`\nOne start under --cpu-prof: ready in ${fmt(server.readyMs)} ms, ${fmt(summary.totalMs - summary.idleMs)} ms of CPU until ready, by package:\n`)
  console.log(markdownTable(['package', 'self ms', 'share'], summary.packages.slice(0, 12).map((cost) => [cost.name, fmt(cost.selfMs), `${fmt(cost.share * 100, 1)}%`])))
}
