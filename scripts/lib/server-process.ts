import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from './free-port.js'
import { serverCommand, type ServerCommand } from './options.js'
import { parseVmRss } from './stats.js'

/** The repository root (scripts/lib/ → ../..). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '')

/** A server started as a child process on a loopback port. */
export interface ServerProcess {
  child: ChildProcess
  pid: number
  url: string
  command: ServerCommand
  /** Resolves with the exit code (null when killed by a signal) and signal. */
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  /** The last log lines, stdout and stderr mixed, for a failure report. */
  tail: () => string[]
  /** Ends the child if it still runs: SIGTERM, then SIGKILL after `graceMs`. */
  stop: (graceMs?: number) => Promise<void>
}

const running = new Set<ChildProcess>()
// Whatever way the script ends, no server is left behind: a signal to the
// script alone (not its process group) would otherwise skip the exit handler.
process.once('exit', () => { for (const child of running) child.kill('SIGKILL') })
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`${signal}: stopping the server\n`)
    process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

/**
 * Starts `node dist/bundle/server.js` (or the source through tsx) on 127.0.0.1
 * and a free port, and resolves once `/__mock/health` answers 200.
 */
export async function startServerProcess (options: { source: boolean, env?: Record<string, string>, onLine?: (line: string) => void, startTimeoutMs?: number }): Promise<ServerProcess> {
  const command = serverCommand(ROOT, { source: options.source, distExists: existsSync(`${ROOT}/dist/bundle/server.js`) })
  const port = await freePort()
  const child = spawn(process.execPath, [...command.args, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  running.add(child)
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    })
  })
  const lines: string[] = []
  // The pipes are always drained: a full pipe would block the server's logger.
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (line) => {
      lines.push(line)
      if (lines.length > 50) lines.shift()
      options.onLine?.(line)
    })
  }
  const server: ServerProcess = {
    child,
    pid: child.pid as number,
    url: `http://127.0.0.1:${port}`,
    command,
    exited,
    tail: () => [...lines],
    stop: async (graceMs = 5000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000)
  while (child.exitCode === null && child.signalCode === null) {
    try {
      const res = await fetch(`${server.url}/__mock/health`)
      if (res.status === 200) return server
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await server.stop()
      throw new Error(`the server did not become healthy in time:\n${lines.join('\n')}`)
    }
    await sleep(100)
  }
  throw new Error(`the server exited during start-up:\n${lines.join('\n')}`)
}

/** The child's resident set size in bytes, from /proc (Linux). */
export async function readRss (pid: number): Promise<number> {
  return parseVmRss(await readFile(`/proc/${pid}/status`, 'utf8'))
}
