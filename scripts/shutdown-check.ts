// Graceful shutdown under load: SIGTERM while requests are in flight must
// answer every one of them, refuse new connections, and exit 0 in time.
// Run: node --import tsx scripts/shutdown-check.ts [--source] (`npm run shutdown-check`).
// Loopback only; bounded by its own deadline; the server is stopped on every exit path.
import { once } from 'node:events'
import { request, type Agent } from 'node:http'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { keepAliveAgent, send, type Answer } from './lib/http-client.js'
import { readFlagsOrExit, failAfter } from './lib/cli.js'
import { parseShutdownOptions, type ShutdownOptions } from './lib/options.js'
import { startServerProcess, type ServerProcess } from './lib/server-process.js'
import { shutdownFailures, shutdownSummary, type InFlightOutcome, type ShutdownObservation } from './lib/shutdown.js'
import { errorCode } from './lib/stats.js'
import { seededRandom, usersBody } from './lib/traffic.js'

const USAGE = `Usage: node --import tsx scripts/shutdown-check.ts [options]
  --delayed <n>       requests held in the server by a fault delay at SIGTERM (default 40)
  --bulk <n>          bulk requests whose bodies are sent after SIGTERM (default 10)
  --rows <n>          rows in each of those bulk requests (default 10000)
  --delay-ms <ms>     the fault delay (default 1500)
  --deadline-ms <ms>  most time from SIGTERM to the exit (default 10000)
  --linger-ms <ms>    most time from the last in-flight answer to the exit (default 2000)
  --source            run src/server.ts through tsx instead of dist/bundle/server.js
`

const KEY = 'shutdown-check-key'
const AUTH = { authorization: `Token ${KEY}` }

/** Waits for `test` to hold, polling; false when `ms` pass first. */
async function until (ms: number, test: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = performance.now() + ms
  while (performance.now() < deadline) {
    if (await test()) return true
    await sleep(20)
  }
  return false
}

/** Set when SIGTERM is sent: the origin of every time the check reports. */
let signalled = 0

function outcome (kind: string, answer: Promise<Answer>): Promise<InFlightOutcome> {
  const ms = (): number => performance.now() - signalled
  return answer.then((res) => ({ kind, ms: ms(), status: res.status }), (error: unknown) => ({ kind, ms: ms(), error: errorCode(error) }))
}

/**
 * A bulk request sent with `Expect: 100-continue`: the server's 100 Continue
 * proves it has parsed the headers (the request is in flight); the body is
 * sent later, after SIGTERM.
 */
function gatedBulk (base: string, agent: Agent, body: string): { continued: Promise<void>, finish: () => void, answer: Promise<Answer> } {
  let finish = (): void => {}
  let continued!: Promise<void>
  const answer = new Promise<Answer>((resolve, reject) => {
    const req = request(`${base}/v1/users/bulk_identify`, {
      method: 'POST',
      agent,
      headers: { ...AUTH, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), expect: '100-continue' }
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('aborted', () => reject(Object.assign(new Error('answer cut short'), { code: 'ECONNRESET' })))
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    continued = once(req, 'continue').then(() => undefined)
    req.flushHeaders()
    finish = () => { req.end(body) }
  })
  return { continued, finish, answer }
}

async function check (server: ServerProcess, options: ShutdownOptions, shutdownLogged: () => boolean): Promise<number> {
  const agents: Agent[] = []
  const agent = (): Agent => {
    // One keep-alive connection per request, as separate clients would hold them.
    const created = keepAliveAgent(1)
    agents.push(created)
    return created
  }
  if (options.delayed > 0) {
    const fault = await send(server.url, false, {
      method: 'POST',
      path: '/__mock/faults',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ match: { method: 'GET', path: '/v1/background_jobs' }, times: options.delayed, delay_ms: options.delayMs })
    })
    if (fault.status !== 201) throw new Error(`could not queue the delay fault: ${fault.status} ${fault.body}`)
  }
  const delayed = Array.from({ length: options.delayed }, () => outcome('delayed', send(server.url, agent(), { method: 'GET', path: '/v1/background_jobs', headers: AUTH })))
  const random = seededRandom(7)
  const bulks = Array.from({ length: options.bulk }, () => gatedBulk(server.url, agent(), JSON.stringify(usersBody(random, options.rows, 100_000))))

  // In flight, provably: every delayed request has taken its fault, every bulk request has its 100 Continue.
  const faultsTaken = await until(10_000, async () => {
    const res = await send(server.url, false, { method: 'GET', path: '/__mock/faults', headers: AUTH })
    return res.body === '[]'
  })
  if (!faultsTaken) throw new Error('the delayed requests did not all reach the server within 10 s')
  await Promise.all(bulks.map(async (bulk) => await bulk.continued))

  signalled = performance.now()
  server.child.kill('SIGTERM')
  for (const bulk of bulks) bulk.finish()
  // New connections are tried once the server says it is shutting down (a short wait for close() to run), and again later.
  await until(2000, shutdownLogged)
  await sleep(100)
  const tryConnect = async (): Promise<{ status?: number, error?: string, at: number }> => {
    const at = Math.round(performance.now() - signalled)
    try {
      return { status: (await send(server.url, false, { method: 'GET', path: '/__mock/health', timeoutMs: 5000 })).status, at }
    } catch (error) {
      return { error: errorCode(error), at }
    }
  }
  const attempts = [await tryConnect()]
  await sleep(Math.min(500, options.delayMs / 2))
  attempts.push(await tryConnect())

  const deadline = setTimeout(() => server.child.kill('SIGKILL'), options.deadlineMs + 2000)
  const inFlight = await Promise.all([...delayed, ...bulks.map((bulk) => outcome('bulk', bulk.answer))])
  const exit = await server.exited
  const exitMs = performance.now() - signalled
  clearTimeout(deadline)
  for (const created of agents) created.destroy()

  for (const attempt of attempts) console.log(`new connection ${attempt.at} ms after SIGTERM: ${attempt.error ?? `answered ${attempt.status as number}`}`)
  // The first attempt that was not refused decides; all refused: the first one.
  const newConnection = attempts.find((attempt) => attempt.error !== 'ECONNREFUSED') ?? attempts[0] as { error: string }
  const seen: ShutdownObservation = { inFlight, newConnection, exit: { ...exit, ms: exitMs }, deadlineMs: options.deadlineMs, lingerMs: options.lingerMs }
  const failures = shutdownFailures(seen)
  console.log(shutdownSummary(seen))
  for (const failure of failures) console.log(`FAIL: ${failure}`)
  if (failures.length > 0) console.log(server.tail().slice(-15).join('\n'))
  return failures.length === 0 ? 0 : 1
}

const options = readFlagsOrExit('shutdown-check', USAGE, () => parseShutdownOptions(process.argv.slice(2)))
failAfter('shutdown-check', 60_000 + options.deadlineMs, '60 s + the deadline')

let shuttingDown = false
const server = await startServerProcess({
  source: options.source,
  env: { MOCK_CONCURRENCY: 'queue', LOG_LEVEL: 'info', MOCK_API_KEYS: KEY },
  onLine: (line) => { if (line.includes('shutting down')) shuttingDown = true }
})
console.log(`shutdown-check: server pid ${server.pid} (${server.command.entry}) at ${server.url}; ${options.delayed} delayed + ${options.bulk} bulk requests of ${options.rows} rows in flight`)
try {
  process.exitCode = await check(server, options, () => shuttingDown)
} finally {
  await server.stop()
}
