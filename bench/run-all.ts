// `npm run bench`: every benchmark of issue 6 in one go, one script after the other, each in its own
// process; the output is Markdown, ready for BENCHMARKS.md. Flags go to every script
// (--duration, --warmup, --connections, --source, --fresh, --quick); about 3 minutes in all
// on a quiet 2-core machine, 1–2 minutes with --quick (CI; most of it is start-ups).
// Run: node --import tsx bench/run-all.ts [--quick] [--fresh|--source] [--with-profile] [--with-redis]
import { spawnSync } from 'node:child_process'
import { freshBuild, ROOT } from './lib/server.js'

const argv = process.argv.slice(2)
const own = new Set(['--with-profile', '--with-redis'])
const forwarded = argv.filter((arg) => !own.has(arg))
const scripts = ['throughput', 'responsiveness', 'startup', 'memory']
if (argv.includes('--with-profile')) scripts.push('profile')
if (argv.includes('--with-redis')) scripts.push('redis-vs-memory')
if (forwarded.includes('--fresh')) freshBuild()

let failed = 0
for (const script of scripts) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', `bench/${script}.ts`, ...forwarded], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, BENCH_FRESH_BUILT: '1' }
  })
  if (result.status !== 0) {
    failed++
    console.log(`\n**bench/${script}.ts exited with ${String(result.status ?? result.signal)}**`)
  }
  console.log('')
}
process.exitCode = failed === 0 ? 0 : 1
