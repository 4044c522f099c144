// CPU work per W1 request, counted rather than timed: the instructions a request costs the mock
// and bare Fastify, counted by valgrind (cachegrind) in an in-process loop of Fastify inject
// calls (bench/lib/inject-loop.mjs). Throughput on this machine drifts up to 2x within a run;
// a count does not, so a change of a few percent shows here when bench:ab cannot see it.
// V8 runs with --single-threaded, so that garbage collection and compilation happen on the
// counted thread, in the same order each time (a run repeats within about 3 %).
// What it leaves out: the kernel's share of a request (reading the socket, writev), which
// both servers pay, so its ratios are larger than bench:ab's.
// Run: node --import tsx bench/instructions.ts [--variants mock=dist[:ENV=value;…],…] [--requests 4000] [--reps 2]
// A variant's folder is a tsc build (holding src/app.js): dist after `npm run build`, or a copy of
// dist/src, dist/schemas and ui/ in a folder under dist/ (where its imports resolve) to compare commits.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { benchArgs, commandLine } from './lib/args.js'
import { SEED_BODY } from './lib/bodies.js'
import { instructionsOf, perRequest } from './lib/instructions.js'
import { machineLine } from './lib/machine.js'
import { ROOT } from './lib/server.js'
import { fmt, spread } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { parseVariants, type Variant } from './lib/variants.js'
import { keysFor } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['variants', 'requests', 'reps'])
const variants = parseVariants(String(args.extra.variants ?? 'mock=dist'))
// Fewer than a few thousand and the runs' own spread (tens of millions of instructions) swamps the difference.
const extra = Number(args.extra.requests ?? 4000)
const reps = Number(args.extra.reps ?? (args.quick ? 1 : 2))
if (!Number.isInteger(extra) || extra < 1000) throw new Error(`--requests takes a whole number from 1000: ${String(args.extra.requests)}`)
if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps takes a whole number from 1: ${String(args.extra.reps)}`)
// W1's keys (its default in bench/lib/workloads.ts).
const W1_KEYS = keysFor('W1', 32)
// The fewer-requests run warms the code up as much as the other, so that what differs is steady-state work.
const FEWER = 2000

if (spawnSync('valgrind', ['--version']).status !== 0) {
  console.error('bench/instructions.ts counts with valgrind, which is not installed here (Debian/Ubuntu: apt-get install valgrind).')
  process.exit(2)
}

interface Target { name: string, env: Record<string, string> }
const targets: Target[] = [
  { name: 'bare', env: { TARGET: 'bare' } },
  ...variants.map((variant: Variant) => ({ name: variant.name, env: { TARGET: 'mock', BUILD: join(ROOT, variant.folder), SETTINGS: JSON.stringify(variant.env) } }))
]

function count (target: Target, requests: number): number {
  const run = spawnSync('valgrind', ['--tool=cachegrind', '--cache-sim=no', '--smc-check=all-non-file', '--cachegrind-out-file=/dev/null',
    process.execPath, '--single-threaded', join(ROOT, 'bench/lib/inject-loop.mjs')], {
    cwd: ROOT,
    env: { ...process.env, ...target.env, REQUESTS: String(requests), BODY: JSON.stringify(SEED_BODY), KEYS: JSON.stringify(W1_KEYS) },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024
  })
  const instructions = instructionsOf(run.stderr)
  if (run.status !== 0 || instructions === undefined) throw new Error(`${target.name}, ${requests} requests: exit ${String(run.status)}\n${run.stderr.split('\n').filter((line) => !line.startsWith('==')).join('\n').slice(0, 2000)}`)
  return instructions
}

console.log(`# Instructions per W1 request\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- each target: runs of ${FEWER} and ${FEWER + extra} requests of the seed's 2-user body under \`valgrind --tool=cachegrind\`, node --single-threaded; per request = the difference / ${extra}; ${reps} reps, targets alternating`)
for (const variant of variants) console.log(`- ${variant.name}: ${variant.folder}/src/app.js${Object.keys(variant.env).length === 0 ? '' : ` with ${Object.entries(variant.env).map(([key, value]) => `${key}=${value}`).join(' ')}`}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info unless set (log lines made, not written)`)
console.log('- bare: a Fastify route answering a static 202, no logger, the 1.00 of every ratio\n')

const counts = new Map<string, number[]>(targets.map((target) => [target.name, []]))
for (let rep = 0; rep < reps; rep++) {
  for (const target of targets) {
    const each = perRequest({ requests: FEWER, instructions: count(target, FEWER) }, { requests: FEWER + extra, instructions: count(target, FEWER + extra) })
    counts.get(target.name)?.push(each)
    console.log(`rep ${rep + 1}: ${target.name} ${fmt(each)} instructions a request`)
  }
}

const bare = counts.get('bare') as number[]
console.log('\n' + markdownTable(['target', 'instructions a request', '× bare'], targets.map((target) => {
  const mine = counts.get(target.name) as number[]
  return [target.name, spread(mine, 0), spread(mine.map((each, index) => each / (bare[index] as number)))]
})))
console.log('\n× bare: median (min–max) over the reps, each against the bare run of its own rep; more is slower')
