import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync } from 'node:fs'
import { get, type IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describeSettings, type Config } from './config.js'
import { connectMock, type MockClient } from './control-client.js'
import { urlOf } from './loopback.js'
import { PARENT_LINK_ENV, type ListeningMessage } from './parent-link.js'

/** How startMockProcess runs the bin. */
export interface StartMockProcessOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Interface to bind (default 127.0.0.1). */
  host?: string
  /** Any other setting, by its environment name, as with startMock. */
  config?: Partial<Config>
  /** The Node.js binary to run the bin with (default: the one running this process); 20.19 or later. */
  execPath?: string
  /** Node.js flags for the child (default: the same as `npm start`). */
  execArgv?: string[]
  /** More environment variables for the child. */
  env?: Record<string, string | undefined>
  /** Where the child's log lines go: nowhere (the default, with LOG_LEVEL silent unless given), or this process's stdout or stderr. */
  logs?: 'ignore' | 'stdout' | 'stderr'
  /** Milliseconds to wait for the mock to listen, and then for its health check to answer (default 30,000 each). */
  timeoutMs?: number
  /** The server entry to run (default: this package's bin). */
  bin?: string
}

/** A mock running in a child process, reached over HTTP. */
export interface MockProcess extends MockClient {
  readonly port: number
  readonly pid: number
  /** The child process itself. */
  readonly child: ChildProcess
  /** Resolves when the child has exited, with its exit code or the signal that ended it. */
  readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** Stops the mock with SIGTERM (it finishes the requests in flight) and resolves once it has exited. */
  close(): Promise<void>
}

/**
 * The Node.js flags `npm start` and the Docker image run the bin with: none since issue 17
 * (`--max-semi-space-size=32` made 10,000-user requests a few per cent cheaper once their rows
 * were applied in slices, for about a fifth more peak memory: BENCHMARKS.md section 8).
 */
export const START_FLAGS: readonly string[] = []

/**
 * The bin (the bundled server, dist/bundle/server.js), found from this
 * module's URL: from the build (dist/src/), or from the source (src/, run by
 * tsx: Node.js cannot run the .ts without a loader).
 */
export function binPath (moduleUrl: string | URL = import.meta.url): string {
  const fromBuild = fileURLToPath(new URL('../bundle/server.js', moduleUrl))
  return existsSync(fromBuild) ? fromBuild : fileURLToPath(new URL('../dist/bundle/server.js', moduleUrl))
}

/** The child's environment: this one without any setting of the mock's own, then the options'. */
export function childEnv (options: StartMockProcessOptions, parent: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...parent }
  // The child sees only the settings it is given, as startMock does: a MOCK_STORE
  // or PORT meant for something else in the test's environment must not leak in.
  for (const { name } of describeSettings()) delete env[name]
  for (const [name, value] of Object.entries(options.config ?? {})) {
    if (value !== undefined) env[name] = String(value)
  }
  env.PORT = String(options.port ?? 0)
  env.HOST = options.host ?? '127.0.0.1'
  if ((options.logs ?? 'ignore') === 'ignore') env.LOG_LEVEL ??= 'silent'
  env[PARENT_LINK_ENV] = '1'
  return { ...env, ...options.env }
}

/** GET /__mock/health on a connection of its own, closed after the answer (a kept-alive one would hold this process open for seconds). */
async function healthStatus (url: string, timeoutMs: number): Promise<number> {
  const request = get(`${url}/__mock/health`, { agent: false, timeout: timeoutMs })
  request.once('timeout', () => request.destroy(new Error(`userpilot-mock's health check did not answer within ${timeoutMs} ms`)))
  const [response] = await once(request, 'response') as [IncomingMessage]
  response.resume()
  return response.statusCode as number
}

function isListening (message: unknown): message is ListeningMessage {
  return typeof message === 'object' && message !== null && (message as ListeningMessage).type === 'userpilot-mock:listening'
}

function describe (stderr: string): string {
  return stderr.trim() === '' ? '' : `; its stderr:\n${stderr.trim()}`
}

/**
 * Starts the bin (`userpilot-mock`) in a child process on a free port, waits
 * until its health check answers, and returns typed access to it over HTTP.
 *
 * The child learns its settings from its environment only, and has an IPC
 * channel to this process: it reports its port over the channel, and stops
 * by itself when the channel closes, which happens when this process exits
 * in any way (SIGKILL included). It does not keep this process alive.
 */
export async function startMockProcess (options: StartMockProcessOptions = {}): Promise<MockProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000
  const logs: Record<NonNullable<StartMockProcessOptions['logs']>, 'ignore' | number> = { ignore: 'ignore', stdout: 1, stderr: 2 }
  const child: ChildProcess = spawn(options.execPath ?? process.execPath, [...(options.execArgv ?? START_FLAGS), options.bin ?? binPath()], {
    env: childEnv(options),
    stdio: ['ignore', logs[options.logs ?? 'ignore'], 'pipe', 'ipc'],
    serialization: 'json'
  })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => { resolve({ code, signal }) })
  })
  // Kept for an error during start-up, then passed on to this process's stderr.
  let stderr = ''
  let started = false
  const stderrPipe = child.stderr as Socket
  stderrPipe.on('data', (chunk: Buffer) => {
    if (started) process.stderr.write(chunk)
    else stderr = (stderr + chunk.toString()).slice(-8192)
  })

  const host = options.host ?? '127.0.0.1'
  let url: string
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`userpilot-mock did not report that it listens within ${timeoutMs} ms${describe(stderr)}`)) }, timeoutMs)
      child.on('message', (message) => {
        if (isListening(message)) {
          clearTimeout(timer)
          resolve(message.port)
        }
      })
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(error)
      })
      // 'close' comes after stderr has been read to its end.
      child.once('close', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`userpilot-mock exited (${code ?? signal}) before it listened${describe(stderr)}`))
      })
    })
    url = urlOf(host, port)
    const status = await healthStatus(url, timeoutMs)
    if (status !== 200) throw new Error(`userpilot-mock listens on ${url} but its health check answered ${status}`)
  } catch (error) {
    // A child that could not be spawned has no pid, and may never emit 'exit'.
    if (child.pid !== undefined) {
      child.kill('SIGKILL')
      await exited
    }
    throw error
  }
  started = true
  // A forgotten close() must not hold the test process open; the child follows it when it exits.
  child.unref()
  child.channel?.unref()
  stderrPipe.unref()

  const client = connectMock(url, { adminToken: options.config?.MOCK_ADMIN_TOKEN })
  let closing: Promise<void> | undefined
  return {
    ...client,
    port: Number(new URL(url).port),
    pid: child.pid as number,
    child,
    exited,
    // One SIGTERM only: a second one makes the bin give up on the requests in flight and exit 1.
    close: async () => {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.ref()
          child.kill('SIGTERM')
        }
        await exited
      })()
      await closing
    }
  }
}
