// Soak test: runs mixed traffic against the server as a child process for a
// bounded time and checks that its memory stays flat and it never answers 5xx.
// Run: node --import tsx scripts/soak.ts [--duration 300] [--warmup 30] [--source]
// (`npm run soak`). Loopback only; the server is stopped on every exit path.
import type { Agent } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { keepAliveAgent, send, type Answer, type Call } from './lib/http-client.js'
import { readFlagsOrExit, failAfter } from './lib/cli.js'
import { parseSoakOptions, type SoakOptions } from './lib/options.js'
import { readRss, startServerProcess, type ServerProcess } from './lib/server-process.js'
import { errorCode, formatMb, median, soakFailures, soakSummary, Tally } from './lib/stats.js'
import { between, companiesBody, INVALID_BODIES, pickWeighted, seededRandom, usersBody, type Random } from './lib/traffic.js'

const USAGE = `Usage: node --import tsx scripts/soak.ts [options]
  --duration <s>     seconds of traffic, warm-up included (default 300; env SOAK_DURATION)
  --warmup <s>       seconds before the reference RSS is taken (default 30; env SOAK_WARMUP)
  --clients <n>      concurrent keep-alive clients (default 8)
  --keys <n>         API keys the clients spread over (default 4)
  --pool <n>         user ids per key (default 5000; companies: a quarter)
  --max-growth <%>   fail when RSS grows this much after warm-up (default 10)
  --stage-ms <ms>    MOCK_STAGE_MS of the server (default 5)
  --job-retention <n> MOCK_JOB_RETENTION of the server (default 100: full before warm-up ends)
  --seed <n>         traffic seed (default 1)
  --source           run src/server.ts through tsx instead of dist/bundle/server.js
`

/** How often each kind of step is chosen. */
const WEIGHTS = {
  usersBulk: 12,
  companiesBulk: 4,
  controlRead: 10,
  jobList: 3,
  fault: 2,
  flush: 1,
  advance: 1,
  failedJob: 1,
  invalid: 3,
  unauthorized: 1,
  unknownRoute: 1,
  reset: 0.1
} as const

/**
 * RSS swings by tens of MB between garbage collections, so each figure is the
 * median of one sample a second over a window (30 s, or a quarter of the
 * measured time when shorter): right after warm-up, and at the end.
 */
function windowMs (options: SoakOptions): number {
  return Math.max(1000, Math.min(30_000, (options.duration - options.warmup) * 1000 / 4))
}

interface Context {
  server: ServerProcess
  options: SoakOptions
  tally: Tally
  /** Answers that were not what the mock must send (e.g. a 2xx for a malformed body). */
  unexpected: string[]
  endAt: number
}

interface Client {
  key: string
  agent: Agent
  random: Random
}

async function call (ctx: Context, client: Client, request: Call): Promise<Answer | undefined> {
  try {
    const answer = await send(ctx.server.url, client.agent, {
      ...request,
      // A JSON content type only with a body: Fastify answers an empty JSON body with 400.
      headers: { authorization: `Token ${client.key}`, ...(request.body === undefined ? {} : { 'content-type': 'application/json' }), ...request.headers }
    })
    ctx.tally.status(answer.status)
    if (answer.status >= 500 && ctx.unexpected.length < 20) ctx.unexpected.push(`${request.method} ${request.path} -> ${answer.status} ${answer.body.slice(0, 300)}`)
    return answer
  } catch (error) {
    ctx.tally.error(errorCode(error))
    return undefined
  }
}

function expect (ctx: Context, what: string, answer: Answer | undefined, status: number): void {
  if (answer !== undefined && answer.status !== status && ctx.unexpected.length < 20) {
    ctx.unexpected.push(`${what}: expected ${status}, got ${answer.status} ${answer.body.slice(0, 200)}`)
  }
}

/** Row counts from 1 to 1000, mostly small, as bulk callers tend to send. */
function rowCount (random: Random): number {
  return 1 + Math.floor(random() ** 2 * 999)
}

/** Submits a bulk request and, when accepted, polls the job until it ends (bounded), as a client would. */
async function bulk (ctx: Context, client: Client, type: 'users' | 'companies', headers: Record<string, string> = {}): Promise<string | undefined> {
  const rows = rowCount(client.random)
  const body = type === 'users' ? usersBody(client.random, rows, ctx.options.pool) : companiesBody(client.random, rows, ctx.options.pool)
  const answer = await call(ctx, client, { method: 'POST', path: `/v1/${type}/bulk_identify`, body: JSON.stringify(body), headers })
  if (answer?.status !== 202) {
    expect(ctx, `${type} bulk`, answer, 202)
    return undefined
  }
  const jobId = (JSON.parse(answer.body) as { job_id: string }).job_id
  const interval = Math.max(20, ctx.options.stageMs * 2)
  for (let poll = 0; poll < 200 && performance.now() < ctx.endAt; poll++) {
    await sleep(interval)
    const status = await call(ctx, client, { method: 'GET', path: `/v1/background_jobs/${encodeURIComponent(jobId)}` })
    // A reset by another client of the same key forgets the job: 404 ends the wait too.
    if (status === undefined || status.status !== 200) break
    const job = JSON.parse(status.body) as { status: string }
    if (job.status === 'completed' || job.status === 'failed') break
  }
  return jobId
}

const CONTROL_READS = [
  '/__mock/users?limit=50',
  '/__mock/companies?limit=20',
  '/__mock/jobs?limit=20',
  '/__mock/requests?limit=20',
  '/__mock/faults'
] as const

async function step (ctx: Context, client: Client): Promise<void> {
  const { random } = client
  switch (pickWeighted(random, WEIGHTS)) {
    case 'usersBulk':
      await bulk(ctx, client, 'users')
      return
    case 'companiesBulk':
      await bulk(ctx, client, 'companies')
      return
    case 'failedJob':
      await bulk(ctx, client, 'users', { 'x-mock-job-outcome': 'failed@processing' })
      return
    case 'controlRead': {
      const path = random() < 0.2 ? `/__mock/users/user-${between(random, 0, ctx.options.pool - 1)}` : CONTROL_READS[between(random, 0, CONTROL_READS.length - 1)] as string
      const answer = await call(ctx, client, { method: 'GET', path })
      // A single user may not exist yet (or was reset): 404 is a right answer.
      if (!path.startsWith('/__mock/users/') || answer?.status !== 404) expect(ctx, `GET ${path}`, answer, 200)
      return
    }
    case 'jobList':
    {
      const answer = await call(ctx, client, { method: 'GET', path: `/v1/background_jobs?limit=${between(random, 1, 50)}` })
      // Faults match the path without its query: another client's queued 429 may land here.
      if (answer?.status !== 429) expect(ctx, 'job list', answer, 200)
      return
    }
    case 'fault': {
      // Queued on the job list only, and a 429 or a short delay: a fault must never add a 5xx of its own.
      const rule = random() < 0.5 ? { status: 429 } : { delay_ms: between(random, 10, 100) }
      const queued = await call(ctx, client, { method: 'POST', path: '/__mock/faults', body: JSON.stringify({ match: { method: 'GET', path: '/v1/background_jobs' }, times: 1, ...rule }) })
      // 409: the key already holds FAULT_LIMIT faults (another client's were not consumed yet).
      if (queued?.status !== 409) expect(ctx, 'queue fault', queued, 201)
      await call(ctx, client, { method: 'GET', path: '/v1/background_jobs' })
      if (random() < 0.1) expect(ctx, 'clear faults', await call(ctx, client, { method: 'DELETE', path: '/__mock/faults' }), 204)
      return
    }
    case 'flush':
      expect(ctx, 'flush', await call(ctx, client, { method: 'POST', path: '/__mock/clock/flush' }), 200)
      return
    case 'advance': {
      const answer = await call(ctx, client, { method: 'POST', path: '/v1/users/bulk_identify', body: JSON.stringify(usersBody(random, 5, ctx.options.pool)) })
      if (answer?.status === 202) {
        const jobId = (JSON.parse(answer.body) as { job_id: string }).job_id
        // 200, or 409 when the job has moved on by itself or waits behind another: both are answers.
        await call(ctx, client, { method: 'POST', path: `/__mock/jobs/${encodeURIComponent(jobId)}/advance`, body: '{}' })
      }
      return
    }
    case 'invalid': {
      const invalid = INVALID_BODIES[between(random, 0, INVALID_BODIES.length - 1)] as typeof INVALID_BODIES[number]
      expect(ctx, invalid.what, await call(ctx, client, { method: 'POST', path: '/v1/users/bulk_identify', body: invalid.body }), invalid.status)
      return
    }
    case 'unauthorized':
      expect(ctx, 'no key', await call(ctx, client, { method: 'GET', path: '/v1/background_jobs', headers: { authorization: 'Bearer nope' } }), 401)
      return
    case 'unknownRoute':
      expect(ctx, 'unknown route', await call(ctx, client, { method: 'GET', path: '/v1/nothing-here' }), 404)
      return
    case 'reset':
      expect(ctx, 'reset', await call(ctx, client, { method: 'POST', path: '/__mock/reset' }), 200)
  }
}

async function run (options: SoakOptions): Promise<number> {
  const keys = Array.from({ length: options.keys }, (_, i) => `soak-key-${i}`)
  let serverErrorLines = 0
  const server = await startServerProcess({
    source: options.source,
    env: { MOCK_STAGE_MS: String(options.stageMs), MOCK_JOB_RETENTION: String(options.jobRetention), MOCK_CONCURRENCY: 'queue', MOCK_API_KEYS: keys.join(','), LOG_LEVEL: 'warn' },
    // pino level 50 and up: an error the server logged (a failed job step, a 500).
    onLine: (line) => { if (/"level":(5|6)\d/.test(line)) serverErrorLines++ }
  })
  try {
    console.log(`soak: server pid ${server.pid} (${server.command.entry}) at ${server.url}; ${options.clients} clients over ${options.keys} keys for ${options.duration} s, warm-up ${options.warmup} s, MOCK_JOB_RETENTION ${options.jobRetention}`)
    const started = performance.now()
    const ctx: Context = { server, options, tally: new Tally(), unexpected: [], endAt: started + options.duration * 1000 }
    const samples: Array<{ at: number, rss: number }> = []
    const sampling = { on: true }
    let samplerError: Error | undefined
    const serverGone = (): boolean => server.child.exitCode !== null || server.child.signalCode !== null
    const sampler = (async () => {
      while (sampling.on && !serverGone()) {
        samples.push({ at: performance.now() - started, rss: await readRss(server.pid) })
        await sleep(1000)
      }
    })().catch((error: unknown) => { samplerError = error as Error })
    const clients = Array.from({ length: options.clients }, (_, i): Client => ({
      key: keys[i % keys.length] as string,
      agent: keepAliveAgent(1),
      random: seededRandom(options.seed * 1000 + i)
    }))
    let reported = 0
    const progress = setInterval(() => {
      const seconds = Math.round((performance.now() - started) / 1000)
      const last = samples[samples.length - 1]
      const done = ctx.tally.requests
      console.log(`soak: ${seconds} s, ${done} requests (+${done - reported}), rss ${last === undefined ? '?' : formatMb(last.rss)}`)
      reported = done
    }, 10_000)
    await Promise.all(clients.map(async (client) => {
      while (performance.now() < ctx.endAt && !serverGone()) await step(ctx, client)
    }))
    clearInterval(progress)
    if (serverGone()) throw new Error(`the server exited during the soak:\n${server.tail().join('\n')}`)
    if (samplerError !== undefined) throw samplerError
    samples.push({ at: performance.now() - started, rss: await readRss(server.pid) })
    sampling.on = false
    await sampler
    for (const client of clients) client.agent.destroy()

    const window = windowMs(options)
    const windowRss = (from: number, to: number): number => median(samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rss))
    const warmMs = options.warmup * 1000
    const lastMs = (samples[samples.length - 1] as { at: number }).at
    const result = {
      requests: ctx.tally.requests,
      serverErrors: ctx.tally.serverErrors,
      errors: ctx.tally.errorCount,
      warmRss: windowRss(warmMs, warmMs + window),
      endRss: windowRss(lastMs - window, lastMs),
      maxRss: Math.max(...samples.map((s) => s.rss)),
      seconds: options.duration,
      maxGrowth: options.maxGrowth
    }
    console.log(ctx.tally.describe())
    console.log(`rss samples: ${samples.length}, first ${formatMb((samples[0] as { rss: number }).rss)}, warm (median of ${options.warmup}-${options.warmup + window / 1000} s) ${formatMb(result.warmRss)}, end (median of the last ${window / 1000} s) ${formatMb(result.endRss)}, max ${formatMb(result.maxRss)}`)
    console.log(`throughput: ${Math.round(result.requests / options.duration)} requests/s; server error log lines: ${serverErrorLines}`)
    for (const line of ctx.unexpected) console.log(`unexpected: ${line}`)
    const failures = soakFailures(result)
    if (ctx.unexpected.length > 0) failures.push(`${ctx.unexpected.length} unexpected answers (listed above)`)
    if (serverErrorLines > 0) failures.push(`the server logged ${serverErrorLines} errors`)
    console.log(soakSummary(result))
    for (const failure of failures) console.log(`FAIL: ${failure}`)
    if (failures.length > 0) console.log(server.tail().join('\n'))
    return failures.length === 0 ? 0 : 1
  } finally {
    await server.stop()
  }
}

const options = readFlagsOrExit('soak', USAGE, () => parseSoakOptions(process.argv.slice(2), process.env))
// Duration plus a minute for start-up and wind-down.
failAfter('soak', (options.duration + 60) * 1000, 'duration + 60 s')
process.exitCode = await run(options)
