// The mock against the servers people could pick instead — Prism, Mockoon CLI
// and WireMock — and a bare Fastify 5 route answering a static 202 (the 1.00),
// all in one run, so that every ratio compares figures of the same round.
// Each server alone on core 0, the load generator (autocannon) on core 1;
// each target started fresh per workload, the targets taking turns in each
// round. The peers are not dependencies: they are installed at their pinned
// versions into node_modules/.cache/userpilot-mock-peers on the first run and
// reused after; a peer that cannot be installed or started is skipped, and why
// is printed.
// Run: node --import tsx bench/peers.ts [--rounds 2] [--duration 10] [--warmup 2] [--only mock,prism,mockoon,wiremock] [--connections n] [--source|--fresh] [--quick]
import { spawn, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { cpus, loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { benchArgs, commandLine } from './lib/args.js'
import { SEED_BODY } from './lib/bodies.js'
import { runLoad, type LoadResult } from './lib/load.js'
import { machineLine } from './lib/machine.js'
import { listeningInodes, parseStat, roundRatios, selectTargets, share, type TargetName } from './lib/peers-parse.js'
import { canPin, cpuSecondsOf, memoryOf, pinSelf, RssSampler } from './lib/proc.js'
import { describeEntry, freePort, mockSpec, ROOT } from './lib/server.js'
import { fmt, mb, spread } from './lib/stats.js'
import { markdownTable } from './lib/table.js'
import { drainJobs, keysFor, workloads, type Workload } from './lib/workloads.js'

/** The peers' npm packages at the exact versions the bench installs (the only place they are pinned). */
const PEER_VERSIONS = {
  prism: { pkg: '@stoplight/prism-cli', version: '5.14.2' },
  mockoon: { pkg: '@mockoon/cli', version: '9.9.0' },
  wiremock: { pkg: 'wiremock', version: '3.13.2' }
} as const
type PeerName = keyof typeof PEER_VERSIONS

/** Where the peers are installed, one npm prefix each (so that one failing install leaves the others be). */
const CACHE = resolve(ROOT, 'node_modules/.cache/userpilot-mock-peers')
const PEERS_DIR = 'bench/peers'
/** Longest wait for a server's first 202 (a JVM on one core takes seconds). */
const START_TIMEOUT_MS = 60_000
const POLL_MS = 10

const args = benchArgs(process.argv.slice(2), ['rounds', 'only'])
const rounds = Number(args.extra.rounds ?? (args.quick ? 1 : 2))
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds takes a whole number from 1: ${String(args.extra.rounds)}`)
const names = selectTargets(typeof args.extra.only === 'string' ? args.extra.only : undefined)

/** How one server under test is started, and what the output says of it. */
interface Target {
  name: TargetName
  /** Version shown in the table. */
  version: string
  /** The command line for `port` (run through `taskset -c 0`), and extra environment. */
  command: (port: number) => { argv: string[], env: Record<string, string> }
  /** How it is configured, for the notes. */
  setup: string
  /** Why it is left out of this run (install or start failed); undefined while it runs. */
  skipped?: string
}

// ---------------------------------------------------------------------------
// Installing the peers

/** The installed package's version, or undefined when it is not there. */
function installedVersion (dir: string, pkg: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return undefined
  }
}

/** The package's command (its `bin`), as a path to run with node. */
function binOf (dir: string, pkg: string): string {
  const root = join(dir, 'node_modules', pkg)
  const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: string | Record<string, string> }
  return join(root, typeof bin === 'string' ? bin : Object.values(bin)[0] as string)
}

/**
 * Installs a peer at its pinned version into its own prefix under
 * {@link CACHE}, or reuses it; returns its command, or why it is not there.
 */
function installPeer (name: PeerName): { bin: string, line: string } | { skipped: string } {
  const { pkg, version } = PEER_VERSIONS[name]
  const dir = join(CACHE, name)
  if (installedVersion(dir, pkg) === version) return { bin: binOf(dir, pkg), line: `${pkg}@${version}: reused from ${dir.replace(ROOT + '/', '')}` }
  mkdirSync(dir, { recursive: true })
  const started = performance.now()
  const npm = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `${pkg}@${version}`], { encoding: 'utf8', timeout: 600_000 })
  if (npm.status !== 0 || installedVersion(dir, pkg) !== version) {
    const why = npm.error?.message ?? `${npm.stderr}${npm.stdout}`.trim().split('\n').slice(-3).join(' / ')
    return { skipped: `npm install ${pkg}@${version} failed (exit ${String(npm.status)}): ${why || '(no output)'}` }
  }
  return { bin: binOf(dir, pkg), line: `${pkg}@${version}: installed into ${dir.replace(ROOT + '/', '')} in ${fmt((performance.now() - started) / 1000, 1)} s` }
}

/** `java -version`'s first line, or undefined when there is no java on PATH. */
function javaVersion (): string | undefined {
  const java = spawnSync('java', ['-version'], { encoding: 'utf8' })
  if (java.status !== 0) return undefined
  return `${java.stderr}${java.stdout}`.trim().split('\n')[0]
}

function targets (): { list: Target[], lines: string[] } {
  const lines: string[] = []
  const mock = mockSpec({ entry: args.entry })
  const all: Record<TargetName, () => Target> = {
    bare: () => ({
      name: 'bare',
      version: `Fastify ${(JSON.parse(readFileSync(resolve(ROOT, 'node_modules/fastify/package.json'), 'utf8')) as { version: string }).version}`,
      command: () => ({ argv: [process.execPath, `${PEERS_DIR}/fastify-static.mjs`], env: {} }),
      setup: `${PEERS_DIR}/fastify-static.mjs: one Fastify 5 route answering a static 202 with a job-like body; no logger, no schema, no validation, the body read by Fastify's default JSON parser (body limit 50 MB, as the mock's)`
    }),
    mock: () => ({
      name: 'mock',
      version: (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { version: string }).version,
      command: () => ({ argv: [process.execPath, ...mock.nodeArgs], env: mock.env }),
      setup: `\`node ${mock.nodeArgs.join(' ')}\`: ${describeEntry(args.entry)}; MOCK_CONCURRENCY=queue MOCK_STAGE_MS=0, default logging (info, one line per request) to /dev/null; it keeps a job per request and runs it (the requests rotate through several API keys, since a key runs one job at a time)`
    }),
    prism: () => peer('prism', (bin) => (port) => ({ argv: [process.execPath, bin, 'mock', '-h', '127.0.0.1', '-p', String(port), '--errors=false', '-v', 'error', `${PEERS_DIR}/openapi.yaml`], env: {} }),
      `prism mock -h 127.0.0.1 -p PORT --errors=false -v error ${PEERS_DIR}/openapi.yaml (a minimal OpenAPI 3.1 file: the operation with the documented request schema and a 202 example; logging quiet, where its default (info) writes several lines per request)`),
    mockoon: () => peer('mockoon', (bin) => (port) => ({ argv: [process.execPath, bin, 'start', '-d', `${PEERS_DIR}/mockoon.json`, '-p', String(port), '-l', '127.0.0.1', '-X'], env: {} }),
      `mockoon-cli start -d ${PEERS_DIR}/mockoon.json -p PORT -l 127.0.0.1 -X (one route with a static 202 body; its default transaction log line per request to /dev/null, -X: none to files; it keeps the last 100 transactions in memory)`),
    wiremock: () => {
      const java = javaVersion()
      if (java === undefined) return { ...peerStub('wiremock'), skipped: 'no `java` on PATH (the npm package runs the WireMock standalone jar with `java -jar`; WireMock 3 needs Java 11+)' }
      lines.push(`wiremock runs on ${java}`)
      // WireMock creates __files/ in its root: a copy in the cache keeps bench/peers/ clean.
      const root = join(CACHE, 'wiremock-root')
      rmSync(root, { recursive: true, force: true })
      cpSync(resolve(ROOT, PEERS_DIR, 'wiremock/mappings'), join(root, 'mappings'), { recursive: true })
      return peer('wiremock', (bin) => (port) => ({ argv: [process.execPath, bin, '--port', String(port), '--bind-address', '127.0.0.1', '--disable-banner', '--no-request-journal', '--root-dir', root], env: {} }),
        `wiremock --port PORT --bind-address 127.0.0.1 --disable-banner --no-request-journal --root-dir <a copy of ${PEERS_DIR}/wiremock> (one mapping with a static 202 body; the npm bin is a Node.js wrapper that spawns \`java -jar\` with the bundled standalone jar and the JVM's defaults; no request journal, which WireMock otherwise keeps unbounded, whole bodies included; the JVM compiles hot code on the same core while it serves, so its W1 rate keeps rising over tens of seconds of load: a short --warmup measures it mostly while it is still compiling; --warmup 30 comes closer to its steady state)`)
    }
  }
  function peerStub (name: PeerName): Target {
    return { name, version: PEER_VERSIONS[name].version, command: () => ({ argv: [], env: {} }), setup: '' }
  }
  function peer (name: PeerName, build: (bin: string) => Target['command'], setup: string): Target {
    const installed = installPeer(name)
    if ('skipped' in installed) return { ...peerStub(name), skipped: installed.skipped }
    lines.push(installed.line)
    return { ...peerStub(name), command: build(installed.bin), setup }
  }
  return { list: names.map((name) => all[name]()), lines }
}

// ---------------------------------------------------------------------------
// Starting and stopping a server

/** Process groups of servers still running, killed if this script ends early. */
const groups = new Set<number>()
process.on('exit', () => {
  for (const group of groups) {
    try { process.kill(-group, 'SIGKILL') } catch {}
  }
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

/** A started target. */
interface Running {
  url: string
  /** The spawned process (the npm bin, or node). */
  pid: number
  /** The process that holds the listening socket: the spawned one, or its child (WireMock's java). */
  listener: number
  /** Milliseconds from spawn to the first 202. */
  readyMs: number
  stop: () => Promise<void>
}

/** One HTTP request on a fresh connection; resolves with the status and body, or undefined when nothing answered. */
async function send (url: string, body: string, headers: Record<string, string>, timeoutMs = 2000): Promise<{ status: number, body: string } | undefined> {
  return await new Promise((resolve) => {
    const req = request(`${url}/v1/users/bulk_identify`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', () => resolve(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(undefined))
    req.end(body)
  })
}

const SEED = JSON.stringify(SEED_BODY)
const PROBE_KEY = 'bench-probe'
const PROBE_HEADERS = { authorization: `Token ${PROBE_KEY}` }

/** The state letter of a process, or undefined when it is gone. */
function stateOf (pid: number): string | undefined {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).state
  } catch {
    return undefined
  }
}

/** `root` and every process below it. */
function processTree (root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const { ppid } = parseStat(readFileSync(`/proc/${entry}/stat`, 'utf8'))
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {}
  }
  const tree = [root]
  for (let index = 0; index < tree.length; index++) tree.push(...(children.get(tree[index] as number) ?? []))
  return tree
}

/** The process of `root`'s tree that holds the socket listening on `port` (root itself when none is found). */
function listenerOf (root: number, port: number): number {
  const inodes = new Set<string>()
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      for (const inode of listeningInodes(readFileSync(table, 'utf8'), port)) inodes.add(`socket:[${inode}]`)
    } catch {}
  }
  for (const pid of processTree(root)) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) return pid
        } catch {}
      }
    } catch {}
  }
  return root
}

/**
 * Spawns a target on a free port in its own process group, pinned to core 0,
 * its stdout to /dev/null, and polls POST /v1/users/bulk_identify (the seed's
 * body) every {@link POLL_MS} ms until it answers 202. Rejects with the
 * reason (its exit and stderr, or its last answer) when it does not.
 */
async function launch (target: Target): Promise<Running> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const { argv, env } = target.command(port)
  const full = canPin() ? ['taskset', '-c', '0', ...argv] : argv
  const started = performance.now()
  const child = spawn(full[0] as string, full.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true
  })
  const pid = child.pid as number
  groups.add(pid)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-2000) })
  let exit: string | undefined
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => { exit = `exited (${signal ?? `code ${String(code)}`})`; resolve() })
    child.once('error', (error) => { exit = `could not be spawned: ${error.message}`; resolve() })
  })

  const stop = async (): Promise<void> => {
    if (!groups.has(pid)) return
    const kill = (signal: NodeJS.Signals): void => { try { process.kill(-pid, signal) } catch {} }
    kill('SIGTERM')
    const deadline = performance.now() + 10_000
    // A wrapper may end before the server it spawned (WireMock's node before its java): wait for both.
    const listener = located.listener ?? pid
    const running = (): boolean => exit === undefined || (stateOf(listener) !== undefined && stateOf(listener) !== 'Z')
    while (running() && performance.now() < deadline) await sleep(20)
    kill('SIGKILL')
    await exited
    groups.delete(pid)
  }

  let last = 'no answer'
  const located: { listener?: number } = {}
  for (;;) {
    if (exit !== undefined) {
      groups.delete(pid)
      throw new Error(`${exit} before its first 202: ${tail(stderr) || diagnose(full, port)}`)
    }
    const answer = await send(url, SEED, PROBE_HEADERS)
    if (answer?.status === 202) break
    if (answer !== undefined) last = `${answer.status} ${answer.body.slice(0, 200)}`
    if (performance.now() - started > START_TIMEOUT_MS) {
      await stop()
      throw new Error(`no 202 within ${START_TIMEOUT_MS / 1000} s (last answer: ${last})`)
    }
    await sleep(POLL_MS)
  }
  const readyMs = performance.now() - started
  located.listener = listenerOf(pid, port)
  return { url, pid, listener: located.listener, readyMs, stop }
}

/** The last lines of a server's output, on one line, without terminal colours. */
function tail (output: string): string {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').trim().split('\n').slice(-3).join(' / ')
}

/**
 * What a server that ended at once printed: run again with its stdout kept
 * (it goes to /dev/null while measured, where a peer may explain itself,
 * e.g. Mockoon asking on stdout to repair an environment file).
 */
function diagnose (argv: readonly string[], port: number): string {
  const again = spawnSync(argv[0] as string, argv.slice(1), { cwd: ROOT, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1' }, input: '', encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL' })
  return tail(`${again.stdout ?? ''}\n${again.stderr ?? ''}`) || '(no output)'
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

// ---------------------------------------------------------------------------
// Measuring

/** What one target did on one workload in one round. */
interface Measured extends LoadResult {
  readyMs: number
  /** Share of its core the server process used during the measured load. */
  cpu: number
  /** W3: peak RSS of the server process during the load (and the mock's drain), bytes. */
  peakRss: number | undefined
  /** RSS of a wrapper process that is not the server (WireMock's node), bytes. */
  wrapperRss: number | undefined
  /** The mock: ms after the load until every accepted job had ended. */
  drainMs: number | undefined
}

/** What a target answers to requests the mock refuses, checked once per target. */
interface Checks { noUserId: string, noKey: string, w3: string }

async function checks (url: string, w3Body: string): Promise<Checks> {
  const status = (answer: { status: number } | undefined): string => answer === undefined ? 'no answer' : String(answer.status)
  const noUserId = await send(url, JSON.stringify({ users: [{ company_id: 'comp_1', metadata: { plan: 'pro' } }] }), PROBE_HEADERS)
  const noKey = await send(url, SEED, {})
  const w3 = await send(url, w3Body, PROBE_HEADERS, 30_000)
  return { noUserId: status(noUserId), noKey: status(noKey), w3: status(w3) }
}

async function measure (target: Target, workload: Workload, firstStart: boolean): Promise<{ run: Measured, checks?: Checks }> {
  const server = await launch(target)
  try {
    const isMock = target.name === 'mock'
    const keys = keysFor(workload.id, workload.keys)
    const requests = await workload.requests(server.url, keys)
    const found = firstStart ? await checks(server.url, workloadBody(w3)) : undefined
    const connections = args.connections ?? workload.connections
    if (args.warmup > 0) {
      await runLoad(server.url, requests, { connections, durationS: args.warmup })
      if (isMock) await drainJobs(server.url, keys)
    }
    // The start-up probe and the checks posted under their own key.
    if (isMock) await drainJobs(server.url, [PROBE_KEY])
    const sampler = workload.id === 'W3' ? new RssSampler(server.listener) : undefined
    const cpuStart = cpuSecondsOf(server.listener)
    const result = await runLoad(server.url, requests, { connections, durationS: args.duration })
    const cpu = (cpuSecondsOf(server.listener) - cpuStart) / result.durationS
    // The mock's accepted jobs run after the load; their drain is part of its peak, as in bench/throughput.ts.
    const drainMs = isMock ? await drainJobs(server.url, keys) : undefined
    const peakRss = sampler?.stop().peak
    const wrapperRss = server.listener === server.pid ? undefined : memoryOf(server.pid)?.rss
    return { run: { ...result, readyMs: server.readyMs, cpu, peakRss, wrapperRss, drainMs }, ...(found === undefined ? {} : { checks: found }) }
  } finally {
    await server.stop()
  }
}

const all = workloads()
const w1 = all.find((workload) => workload.id === 'W1') as Workload
const w3 = all.find((workload) => workload.id === 'W3') as Workload
const measured = [w1, w3]
/** The body a bulk workload posts (every request of W1 and W3 carries the same one). */
function workloadBody (workload: Workload): string {
  return bodies.get(workload.id) as string
}
const bodies = new Map<string, string>()
for (const workload of measured) bodies.set(workload.id, (await workload.requests('', keysFor(workload.id, 1)))[0]?.body as string)

console.log(`# Peers: the mock against Prism, Mockoon and WireMock\n\n${machineLine()}\n`)
console.log(`- command: \`${commandLine()}\``)
const { list, lines: installLines } = targets()
for (const line of installLines) console.log(`- ${line}`)
console.log(`- ${pinSelf(1)}; each server alone on core 0 (taskset -c 0), started fresh per workload, ${args.warmup} s warm-up, then ${args.duration} s measured; ${rounds} round${rounds === 1 ? '' : 's'}, the targets taking turns within each round (the order shifted by one each round), every ratio against the bare route of the same round and workload`)
console.log(`- W1: POST /v1/users/bulk_identify with the seed's 2-user body (${SEED.length} B), ${w1.connections} connections, ${w1.keys} API keys in turn; W3: the same with 10,000 users (${mb(workloadBody(w3).length)} MB), ${w3.connections} connections, ${w3.keys} keys`)
console.log(`- start-up: from spawn to the first 202 to POST /v1/users/bulk_identify (polled every ${POLL_MS} ms on a fresh connection), over every start of the run (one per workload and round)`)
console.log('- peak RSS: of the process that holds the listening socket (for WireMock the java child of the npm bin), sampled every 100 ms and from the kernel\'s high-water mark reset at the start of the measured load')
console.log('- figures: median (min–max) over the rounds\n')

const results = new Map<TargetName, Map<string, Array<Measured | undefined>>>()
const failures: string[] = []
/** The mock or the baseline failed or answered errors: this project's problem (exit code 1), unlike a peer's. */
let ownFailure = false
const ours = (name: TargetName): boolean => name === 'mock' || name === 'bare'
const found = new Map<TargetName, Checks>()
for (const target of list) results.set(target.name, new Map(measured.map((workload) => [workload.id, []])))

for (let round = 0; round < rounds; round++) {
  const order = list.map((_, index) => list[(index + round) % list.length] as Target)
  for (const workload of measured) {
    for (const target of order) {
      const runs = results.get(target.name)?.get(workload.id) as Array<Measured | undefined>
      if (target.skipped !== undefined) {
        runs.push(undefined)
        continue
      }
      const label = `${workload.id}${rounds === 1 ? '' : ` #${round + 1}`} ${target.name}`
      process.stderr.write(`peers: ${label}…\n`)
      try {
        const { run, checks: seen } = await measure(target, workload, !found.has(target.name))
        if (seen !== undefined) found.set(target.name, seen)
        runs.push(run)
      } catch (error) {
        runs.push(undefined)
        const why = error instanceof Error ? error.message : String(error)
        failures.push(`${label}: ${why}`)
        ownFailure ||= ours(target.name)
        // A server whose first run failed (most often: it did not start) is not tried again.
        if (!found.has(target.name)) target.skipped = 'its first run failed (see FAILED)'
      }
    }
  }
}

const rows: string[][] = []
const notes: string[] = []
const flagged: string[] = []
const of = (name: TargetName, id: string): Array<Measured | undefined> => results.get(name)?.get(id) ?? []
const values = (runs: Array<Measured | undefined>, pick: (run: Measured) => number | undefined): number[] =>
  runs.flatMap((run) => { const value = run === undefined ? undefined : pick(run); return value === undefined ? [] : [value] })
for (const target of list) {
  const w1Runs = of(target.name, 'W1')
  const w3Runs = of(target.name, 'W3')
  const ran = [...w1Runs, ...w3Runs].some((run) => run !== undefined)
  if (!ran) {
    rows.push([target.name, target.version, '–', '–', '–', '–', '–', '–', '–', '–', '–', 'skipped (see below)'])
    continue
  }
  const reqs = (runs: Array<Measured | undefined>): Array<number | undefined> => runs.map((run) => run?.reqPerSec)
  const okShare = (runs: Array<Measured | undefined>): string => {
    const done = runs.filter((run): run is Measured => run !== undefined)
    return share(done.reduce((sum, run) => sum + run.ok, 0), done.reduce((sum, run) => sum + run.ok + run.non2xx + run.errors, 0))
  }
  const seen = found.get(target.name)
  rows.push([
    target.name,
    target.version,
    spread(values(w1Runs, (run) => run.reqPerSec), 0),
    target.name === 'bare' ? '1.00' : spread(roundRatios(reqs(w1Runs), reqs(of('bare', 'W1')))),
    spread(values(w3Runs, (run) => run.reqPerSec), 1),
    target.name === 'bare' ? '1.00' : spread(roundRatios(reqs(w3Runs), reqs(of('bare', 'W3')))),
    `${okShare(w1Runs)} / ${okShare(w3Runs)}`,
    spread(values(w3Runs, (run) => run.peakRss).map((bytes) => bytes / 1024 / 1024), 1),
    spread(values([...w1Runs, ...w3Runs], (run) => run.readyMs), 0),
    seen?.noUserId ?? '–',
    seen?.noKey ?? '–',
    validates(target.name)
  ])
  for (const [id, runs] of [['W1', w1Runs], ['W3', w3Runs]] as const) {
    runs.forEach((run, round) => {
      if (run === undefined) return
      const label = `${id}${rounds === 1 ? '' : ` #${round + 1}`} ${target.name}`
      if (run.non2xx > 0 || run.errors > 0) ownFailure ||= ours(target.name)
      if (run.non2xx > 0 || run.errors > 0) flagged.push(`${label}: ${fmt(run.non2xx)} non-2xx answers, ${fmt(run.errors)} errors (${fmt(run.timeouts)} timeouts) of ${fmt(run.ok + run.non2xx + run.errors)}: its req/s count answers that did not accept the request`)
      if (run.cpu < 0.9) notes.push(`${label} used ${fmt(run.cpu * 100)}% of its core: something else (the load generator, other processes) set its pace`)
    })
  }
  const wrapper = values(w3Runs, (run) => run.wrapperRss)
  if (wrapper.length > 0) notes.push(`${target.name}: the npm bin's own process (the wrapper that spawned the server) held another ${spread(wrapper.map((bytes) => bytes / 1024 / 1024), 1)} MB, not counted in the table`)
  const drains = values([...w1Runs, ...w3Runs], (run) => run.drainMs)
  if (drains.length > 0) notes.push(`${target.name}: after each measured load, its accepted jobs took W1 ${spread(values(w1Runs, (run) => run.drainMs).map((ms) => ms / 1000), 2)} s, W3 ${spread(values(w3Runs, (run) => run.drainMs).map((ms) => ms / 1000), 2)} s more to complete (the peers keep nothing, so they have nothing to drain)`)
  if (seen !== undefined && seen.w3 !== '202') ownFailure ||= ours(target.name)
  if (seen !== undefined && seen.w3 !== '202') flagged.push(`${target.name}: one W3 body (10,000 users) answered ${seen.w3}, not 202`)
}

/** What each target checks of a request (the two status columns show it, measured). */
function validates (name: TargetName): string {
  switch (name) {
    case 'bare': return 'nothing (JSON syntax only)'
    case 'mock': return 'key, content type, size, every field (SPEC §1.2); keeps and runs a job'
    case 'prism': return 'the OpenAPI schema: security header, body (users, user_id, metadata values)'
    case 'mockoon': return 'nothing: any body, any key'
    case 'wiremock': return 'nothing: matches method and path only'
  }
}

console.log(markdownTable(['target', 'version', 'W1 req/s', 'W1 × bare', 'W3 req/s', 'W3 × bare', '2xx W1 / W3', 'W3 peak RSS MB', 'start-up ms', 'no user_id →', 'no key →', 'validates'], rows))
console.log('')
console.log('- "no user_id →" and "no key →": the status each target answered, once, to a user without user_id and to a request without Authorization (the mock and Userpilot: 400 and 401; 202 means the target accepts it)')
for (const target of list) if (target.setup !== '') console.log(`- ${target.name}: ${target.setup}`)
console.log(`- load average at the end: ${loadavg().map((value) => value.toFixed(2)).join(' ')} (on ${cpus().length} cores; the bench itself keeps about 2 runnable, more means other work shared its cores)`)
for (const line of notes) console.log(`- NOTE ${line}`)
for (const line of failures) console.log(`- FAILED ${line}`)
for (const line of flagged) console.log(`- FLAGGED ${line}`)
for (const target of list) if (target.skipped !== undefined) console.log(`- SKIPPED ${target.name}: ${target.skipped}`)
// Only the mock or the baseline failing is this project's problem; a peer that cannot run is reported above.
if (ownFailure) process.exitCode = 1
