import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, openSync, closeSync, rmSync, symlinkSync } from 'node:fs'
import { resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { freePort } from '../../scripts/lib/free-port.js'
import { canPin } from './proc.js'
import { startFlags } from './start-flags.js'

export { freePort }
import type { MonitorRequest, MonitorStats } from './loop-monitor.js'

/** The repository root (bench/lib/../..). */
export const ROOT = resolve(import.meta.dirname, '../..')

/** How to start one server under test. */
export interface ServerSpec {
  /** Shown in tables: `mock`, `baseline`. */
  name: string
  /** Arguments to `node` (flags, then the entry file), relative to the repository root. */
  nodeArgs: string[]
  /** What runs them instead of this Node.js: another `node`, or a file run through its `#!` line (then nodeArgs are its arguments). */
  exec?: string
  env: Record<string, string>
  /** GET path answering 200 once the server is ready. */
  healthPath: string
  /** Opens an IPC channel (for bench/lib/loop-monitor.ts). */
  ipc?: boolean
  /** Where stdout goes: a file path, or /dev/null (default). */
  stdoutFile?: string
}

/** A running server, pinned to its core. */
export interface RunningServer {
  name: string
  pid: number
  url: string
  /** Milliseconds from spawn to the first 200 from the health path. */
  readyMs: number
  /** Asks bench/lib/loop-monitor.ts inside the server (needs `ipc` and the preload). */
  monitor: (request: MonitorRequest) => Promise<MonitorStats | undefined>
  /** performance.now() of this process when the server was spawned: its own clocks start a little later. */
  spawnedAt: number
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  stop: (graceMs?: number) => Promise<number | null>
}

/** Where a fresh build of src/ goes (`--fresh`): out of dist/, which other work may be using, and ignored by git. */
export const FRESH_DIR = 'node_modules/.cache/userpilot-mock-bench'

/**
 * Compiles src/ and schemas/ with tsc into {@link FRESH_DIR} (the inspector
 * page's ui/ linked beside it), so that the mock runs as built code with
 * real line numbers in profiles, without touching dist/.
 */
export function freshBuild (): void {
  const out = resolve(ROOT, FRESH_DIR)
  rmSync(out, { recursive: true, force: true })
  const tsc = spawnSync(process.execPath, [resolve(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out, '--declaration', 'false'], { cwd: ROOT, encoding: 'utf8' })
  if (!existsSync(resolve(out, 'src/server.js'))) throw new Error(`tsc produced no ${FRESH_DIR}/src/server.js: ${tsc.stdout}${tsc.stderr}`)
  if (existsSync(resolve(ROOT, 'ui'))) symlinkSync(resolve(ROOT, 'ui'), resolve(out, 'ui'))
  // Bundled as `npm run build` bundles dist/: what `npm start` runs.
  const bundle = spawnSync(process.execPath, [resolve(ROOT, 'scripts/build-bundle.mjs'), '--dist', out], { cwd: ROOT, encoding: 'utf8' })
  if (bundle.status !== 0) throw new Error(`build-bundle failed for ${FRESH_DIR}: ${bundle.stdout}${bundle.stderr}`)
}

/** Which code of the mock runs: dist/ (built), src/ through tsx, or a fresh build of src/ ({@link freshBuild}). */
export type Entry = 'dist' | 'source' | 'fresh'

/** The entry the flags ask for: --fresh, --source, else dist/ when it is there (src/ otherwise). */
export function entryFrom (flags: { source: boolean, fresh: boolean }): Entry {
  if (flags.fresh) return 'fresh'
  if (flags.source || !existsSync(resolve(ROOT, 'dist/bundle/server.js'))) return 'source'
  return 'dist'
}

const ENTRY_FILES: Record<Entry, string> = { dist: 'dist/bundle/server.js', source: 'src/server.ts', fresh: `${FRESH_DIR}/bundle/server.js` }

/** Options common to the mock's and the baseline's command line. */
export interface MockOptions {
  /** Which code runs. */
  entry: Entry
  /** Settings of the mock (environment variables). */
  env?: Record<string, string>
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeFlags?: string[]
  /** Preload bench/lib/loop-monitor.ts (and open IPC to it). */
  monitor?: boolean
}

/** The mock as the issue asks: every request accepted (queue), jobs run at once (stage 0), default logging (info). */
export function mockSpec (options: MockOptions): ServerSpec {
  const tsx = options.entry === 'source' || options.monitor === true ? ['--import', 'tsx'] : []
  const preload = options.monitor === true ? ['--import', './bench/lib/loop-monitor.ts'] : []
  return {
    name: 'mock',
    nodeArgs: [...startFlags(), ...(options.nodeFlags ?? []), ...tsx, ...preload, ENTRY_FILES[options.entry]],
    env: { LOG_LEVEL: 'info', MOCK_CONCURRENCY: 'queue', MOCK_STAGE_MS: '0', ...options.env },
    healthPath: '/__mock/health',
    ipc: options.monitor
  }
}

/**
 * The same mock from the tsc build the bundle is made of (dist/src/server.js, or the fresh
 * build's): its modules keep their names and source maps, so profiles name places in src/.
 */
export function unbundled (spec: ServerSpec): ServerSpec {
  return { ...spec, nodeArgs: spec.nodeArgs.map((arg) => arg.replace(/\/bundle\/server\.js$/, '/src/server.js')) }
}

/** The baseline: bench/baseline-server.ts (plain Fastify, static answers, no validation); `log: false`: without its log line, the bare route. */
export function baselineSpec (options: Pick<MockOptions, 'nodeFlags'> & { log?: boolean } = {}): ServerSpec {
  return {
    name: options.log === false ? 'bare' : 'baseline',
    nodeArgs: [...(options.nodeFlags ?? []), '--import', 'tsx', 'bench/baseline-server.ts'],
    env: { LOG_LEVEL: 'info', ...(options.log === false ? { BASELINE_LOG: 'none' } : {}) },
    healthPath: '/__mock/health'
  }
}

/** Issue 17's minimal honest route (bench/minimal-server.ts): key, schema, job id, bounded job map; no log line. */
export function minimalSpec (): ServerSpec {
  return { name: 'minimal', nodeArgs: ['--import', 'tsx', 'bench/minimal-server.ts'], env: {}, healthPath: '/__mock/health' }
}

/** Where the mock is started from, for the output. */
export function describeEntry (entry: Entry): string {
  if (entry === 'dist') return 'dist/bundle/server.js, as `npm start` runs it (run `npm run build` first when src/ changed)'
  if (entry === 'fresh') return `src/ compiled by tsc into ${FRESH_DIR} (--fresh)`
  return 'src/server.ts through tsx (--source)'
}

async function healthy (url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) })
    await response.arrayBuffer()
    return response.status === 200
  } catch {
    return false
  }
}

/**
 * Spawns a server on a free port, pinned to `cpu` with `taskset -c`, its
 * stdout to /dev/null (or a file), and waits for its health path to answer
 * 200 (polled every `pollMs`). Rejects, with the end of its stderr, if it
 * exits first or is not ready in `timeoutMs`.
 */
export async function startServer (spec: ServerSpec, options: { cpu?: number, pollMs?: number, timeoutMs?: number } = {}): Promise<RunningServer> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const pin = canPin() ? ['taskset', '-c', String(options.cpu ?? 0)] : []
  const argv = [...pin, spec.exec ?? process.execPath, ...spec.nodeArgs]
  const stdout = spec.stdoutFile === undefined ? 'ignore' : openSync(spec.stdoutFile, 'a')
  const started = performance.now()
  const child: ChildProcess = spawn(argv[0] as string, argv.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...spec.env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', stdout, 'pipe', ...(spec.ipc === true ? ['ipc' as const] : [])]
  })
  if (typeof stdout === 'number') closeSync(stdout)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-4000) })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let gone = false
  exited.then(() => { gone = true }, () => {})

  const deadline = started + (options.timeoutMs ?? 20_000)
  for (;;) {
    if (gone) throw new Error(`${spec.name} exited before it was ready: ${stderr.trim() || '(no stderr)'}`)
    if (await healthy(url + spec.healthPath)) break
    if (performance.now() > deadline) {
      child.kill('SIGKILL')
      throw new Error(`${spec.name} not ready after ${options.timeoutMs ?? 20_000} ms: ${stderr.trim()}`)
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 5))
  }
  const readyMs = performance.now() - started

  const monitor = async (request: MonitorRequest): Promise<MonitorStats | undefined> => {
    if (typeof child.send !== 'function' || !child.connected) return undefined
    return await new Promise((resolve) => {
      child.once('message', (message: { stats?: MonitorStats }) => resolve(message.stats))
      child.send(request)
    })
  }
  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (gone) return await exited
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }
  return { name: spec.name, pid: child.pid as number, url, readyMs, spawnedAt: started, monitor, stop }
}
