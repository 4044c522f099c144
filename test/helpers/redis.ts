import { spawn, spawnSync, type ChildProcess, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { freePort } from '../../scripts/lib/free-port.js'

export { freePort }

/** True when the redis-server binary can be run here. */
export const HAVE_REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0

/**
 * Why the Redis variants cannot run here, or false when they can: they need
 * MOCK_TEST_REDIS_URL or a redis-server binary. Under CI a missing Redis is a
 * failure, not a skip.
 */
export function redisSkipReason (): string | false {
  if (process.env.MOCK_TEST_REDIS_URL !== undefined && process.env.MOCK_TEST_REDIS_URL !== '') return false
  if (HAVE_REDIS_SERVER) return false
  const reason = 'no Redis: set MOCK_TEST_REDIS_URL or install redis-server (Debian: apt-get install redis-server)'
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`${reason}; CI must run the Redis tests`)
  return reason
}

/** Whether a test needing its own redis-server process (outage, restart, AOF) can run here. */
export function ownServerSkipReason (): string | false {
  if (HAVE_REDIS_SERVER) return false
  const reason = 'no redis-server binary (Debian: apt-get install redis-server)'
  if (process.env.CI !== undefined && process.env.CI !== '') throw new Error(`${reason}; CI must run the Redis tests`)
  return reason
}

export interface RedisServerOptions {
  /** AOF persistence in `dir` (for restart tests); default: no persistence at all. */
  appendOnlyDir?: string
  /** Default: a free port. */
  port?: number
}

/** A redis-server process this test started, which it may stop and start again on the same port. */
export interface RedisServer {
  readonly url: string
  readonly port: number
  readonly process: ChildProcess
  /** Stops the server (SIGKILL by default: an outage; SIGTERM: a clean shutdown that writes the AOF). */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** Starts it again on the same port (and directory). */
  start(): Promise<void>
}

async function spawnServer (port: number, options: RedisServerOptions): Promise<ChildProcess> {
  const persistence = options.appendOnlyDir === undefined
    ? ['--save', '', '--appendonly', 'no']
    : ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', options.appendOnlyDir]
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
  try {
    for await (const line of createInterface({ input: child.stdout as NodeJS.ReadableStream })) {
      lines.push(line)
      if (line.includes('Ready to accept connections')) {
        // Keep draining its output so that the pipe never fills.
        child.stdout?.resume()
        return child
      }
    }
  } finally {
    clearTimeout(timer)
  }
  throw new Error(`redis-server did not start on port ${port}:\n${lines.join('\n')}`)
}

/** Starts a redis-server of this test's own on loopback; it is killed when the test ends. */
export async function startRedisServer (t: Test, options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? await freePort()
  let child = await spawnServer(port, options)
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get process () { return child },
    async stop (signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill(signal)
      await exited
    },
    async start () {
      child = await spawnServer(port, options)
    }
  }
  t.teardown(() => server.stop())
  return server
}

let shared: Promise<string> | undefined

/**
 * The Redis that store tests share: MOCK_TEST_REDIS_URL when set (CI starts
 * one), else one redis-server started for this test file, stopped at its end.
 * Tests isolate themselves on it by a random key prefix.
 */
export async function sharedRedisUrl (): Promise<string> {
  const fromEnv = process.env.MOCK_TEST_REDIS_URL
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  shared ??= startRedisServer(t).then((server) => server.url)
  return await shared
}

/** A key prefix no other test uses. */
export function testPrefix (): string {
  return `test:${randomUUID()}:`
}

/** Waits until `check` is true, polling every `everyMs`, failing after `timeoutMs`. */
export async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

/** A mock server process of this test. */
export interface MockProcess {
  readonly url: string
  readonly process: ChildProcessWithoutNullStreams
  /** Every line it logged so far. */
  readonly lines: string[]
  /** Stops it (SIGTERM by default) and waits for it to exit; resolves to its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

const SOURCE_SERVER = fileURLToPath(new URL('../../src/server.ts', import.meta.url))

/**
 * Starts `src/server.ts` as a child process under this test's own loaders
 * (so it runs the TypeScript source, covered), on a free port, and resolves
 * once it logs its address.
 */
export async function startMockProcess (t: Test, args: readonly string[], env: Record<string, string> = {}): Promise<MockProcess> {
  const child = spawn(process.execPath, [...process.execArgv, SOURCE_SERVER, '--port', '0', ...args], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env }
  })
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    const exited = once(child, 'exit')
    child.kill(signal)
    const [code] = await exited as [number | null]
    return code
  }
  t.teardown(() => stop('SIGKILL'))
  const lines: string[] = []
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      lines.push(line)
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
      if (match !== null) {
        // Keep reading, so that the log pipe never fills and blocks the child.
        createInterface({ input: child.stdout }).on('line', (more) => lines.push(more))
        return { url: match[1] as string, process: child, lines, stop }
      }
    }
  } finally {
    clearTimeout(timer)
  }
  throw new Error(`the mock did not start: ${lines.join('\n')}\n${stderr}`)
}

/** A Redis URL with the mock's key prefix parameter. */
export function withPrefix (url: string, prefix: string): string {
  const parsed = new URL(url)
  parsed.searchParams.set('prefix', prefix)
  return parsed.toString()
}
