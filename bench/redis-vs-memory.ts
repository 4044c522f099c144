// The price of MOCK_STORE=redis: W1 (the seed's 2-user body) and one 10,000-row job end to end
// (POST → completed) on the memory store and on a Redis the script starts itself
// (`redis-server --port <free> --save '' --appendonly no`, on core 1 beside the load generator, killed at the end).
// Run: node --import tsx bench/redis-vs-memory.ts [--duration 10] [--source|--fresh] [--quick]
import { spawn } from 'node:child_process'
import { benchArgs, commandLine } from './lib/args.js'
import { SEED_BODY, usersBody } from './lib/bodies.js'
import { call, headersFor, runLoad, waitForJob, type JobView } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import { pinSelf, RssSampler } from './lib/proc.js'
import { describeEntry, freePort, mockSpec, startServer, type RunningServer } from './lib/server.js'
import { fmt, mb, ratio } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { drainJobs, keysFor } from './lib/workloads.js'

const args = benchArgs(process.argv.slice(2), ['keys'])
const keys = keysFor('redis', Number(args.extra.keys ?? 32))
const seed = JSON.stringify(SEED_BODY)
const big = usersBody(10_000)

console.log(`# Memory store vs Redis store\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
console.log(`- ${pinSelf(1)}; mock on core 0: ${describeEntry(args.entry)}, MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0 LOG_LEVEL=info to /dev/null; Redis on core 1`)
console.log(`- W1: ${args.duration} s, 10 connections, ${keys.length} keys, after ${args.warmup} s warm-up; job: one 10,000-row body (${fmt(big.length / 1024 / 1024, 2)} MB), from sending it to reading status completed\n`)

/** Starts redis-server on a free port (core 1); resolves with its URL and a stop function, or undefined if it cannot start. */
async function startRedis (): Promise<{ url: string, stop: () => void } | undefined> {
  const port = await freePort()
  const child = spawn('taskset', ['-c', '1', 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const failed = await new Promise<boolean>((resolve) => {
    child.once('error', () => resolve(true))
    child.once('exit', () => resolve(true))
    setTimeout(() => resolve(false), 300)
  })
  return failed ? undefined : { url: `redis://127.0.0.1:${port}`, stop: () => { child.kill('SIGTERM') } }
}

interface StoreRun { store: string, reqPerSec: number, p50: number, p99: number, non2xx: number, errors: number, peakRss: number, drainMs: number, jobMs: number }

async function measure (store: string, server: RunningServer): Promise<StoreRun> {
  const requests = keys.map((key) => ({ method: 'POST' as const, path: '/v1/users/bulk_identify', headers: headersFor(key, true), body: seed }))
  if (args.warmup > 0) {
    await runLoad(server.url, requests, { connections: 10, durationS: args.warmup })
    await drainJobs(server.url, keys)
  }
  const sampler = new RssSampler(server.pid)
  const load = await runLoad(server.url, requests, { connections: 10, durationS: args.duration })
  const drainMs = await drainJobs(server.url, keys)
  const { peak } = sampler.stop()
  // The big job runs alone: the W1 jobs have all ended.
  const started = performance.now()
  const { job_id: jobId } = await call<JobView>(server.url, 'POST', '/v1/users/bulk_identify', 'bench-redis-job', big, 202)
  await waitForJob(server.url, 'bench-redis-job', jobId, { everyMs: 5 })
  return { store, reqPerSec: load.reqPerSec, p50: load.p50Ms, p99: load.p99Ms, non2xx: load.non2xx, errors: load.errors, peakRss: peak, drainMs, jobMs: performance.now() - started }
}

const results: StoreRun[] = []
const memory = await startServer(mockSpec({ entry: args.entry }))
try {
  results.push(await measure('memory', memory))
} finally {
  await memory.stop()
}
const redis = await startRedis()
if (redis === undefined) {
  console.log('redis-server could not be started: Redis figures skipped\n')
} else {
  try {
    const server = await startServer(mockSpec({ entry: args.entry, env: { MOCK_STORE: redis.url } }), { timeoutMs: 10_000 }).catch((error: unknown) => {
      console.log(`redis backend not available: ${(error as Error).message.split('\n')[0] as string}\n`)
      return undefined
    })
    if (server !== undefined) {
      try {
        results.push(await measure('redis', server))
      } finally {
        await server.stop()
      }
    }
  } finally {
    redis.stop()
  }
}
const base = results[0] as StoreRun
console.log(markdownTable(['store', 'W1 req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', 'peak RSS MB', 'W1 drain s', 'req/s ÷ memory', '10,000-row job ms', 'job ÷ memory'], results.map((run) => [
  run.store, fmt(run.reqPerSec), fmt(run.p50, 2), fmt(run.p99, 2), String(run.non2xx), String(run.errors), mb(run.peakRss), fmt(run.drainMs / 1000, 2),
  fmt(ratio(run.reqPerSec, base.reqPerSec), 2), fmt(run.jobMs), fmt(ratio(run.jobMs, base.jobMs), 2)
])))
if (results.some((run) => run.non2xx > 0 || run.errors > 0)) {
  console.log('\n- FLAGGED: a run had non-2xx answers or errors')
  process.exitCode = 1
}
