import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { binPath, childEnv, START_FLAGS, startMockProcess, type MockProcess, type StartMockProcessOptions } from '../src/child-process.js'
import { PARENT_LINK_ENV } from '../src/parent-link.js'
import { freePort } from './helpers/redis.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BUILT_BIN = `${ROOT}dist/bundle/server.js`
const FAKE_BIN = `${ROOT}test/fixtures/fake-bin.mjs`
const PARENT = `${ROOT}test/fixtures/mock-process-parent.ts`
/**
 * Children that run the build stay out of the coverage run: tap's process
 * tracking covers every child, and the build's lines, mapped back to the
 * source, do not merge with the source's own (they count as other, unrun lines).
 */
const UNCOVERED = { _TAPJS_PROCESSINFO_COVERAGE_: '0' }
const BUILT = { env: UNCOVERED } satisfies StartMockProcessOptions

async function started (t: Test, options: StartMockProcessOptions): Promise<MockProcess> {
  const mock = await startMockProcess(options)
  t.teardown(() => mock.close())
  return mock
}

async function bulk (url: string, headers: Record<string, string>, rows: number): Promise<number> {
  const res = await fetch(`${url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ users: Array.from({ length: rows }, (_, i) => ({ user_id: `u${i}` })) })
  })
  await res.arrayBuffer()
  return res.status
}

/** The lines of a stream, kept, so that any of them can be waited for, in any order. */
class Lines {
  readonly #seen: string[] = []
  #waiting: Array<{ wanted: (line: string) => boolean, resolve: (line: string) => void }> = []
  #ended = false

  constructor (input: NodeJS.ReadableStream) {
    const lines = createInterface({ input })
    lines.on('line', (line) => {
      this.#seen.push(line)
      this.#waiting = this.#waiting.filter((waiter) => !(waiter.wanted(line) && (waiter.resolve(line), true)))
    })
    lines.on('close', () => {
      this.#ended = true
      for (const waiter of this.#waiting) waiter.resolve('')
    })
  }

  /** The first line that passes `wanted` (empty once the stream has ended without one). */
  async where (wanted: (line: string) => boolean): Promise<string> {
    const found = this.#seen.find(wanted)
    if (found !== undefined || this.#ended) return found ?? ''
    return await new Promise((resolve) => this.#waiting.push({ wanted, resolve }))
  }
}

/**
 * True once `pid` has ended. A process that is not our child cannot be awaited,
 * so this looks: gone, or a zombie (ended; this machine's init may not reap it).
 */
async function ended (pid: number, withinMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + withinMs
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0)
    } catch {
      return true
    }
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
    if (/\) [ZX] /.test(stat)) return true
    await sleep(20)
  }
  return false
}

/**
 * A parent process (test/fixtures/mock-process-parent.ts) that starts the
 * built bin, both out of the coverage run; resolves with the parent, its
 * output, and the mock's pid and url.
 */
async function parentWithMock (options: StartMockProcessOptions, mode: 'stay' | 'leave'): Promise<{ parent: ChildProcess, stdout: Lines, stderr: Lines, pid: number, url: string }> {
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT, JSON.stringify(options), mode], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...UNCOVERED }
  })
  const stdout = new Lines(parent.stdout as NodeJS.ReadableStream)
  const stderr = new Lines(parent.stderr as NodeJS.ReadableStream)
  const { pid, url } = JSON.parse(await stdout.where((line) => line.startsWith('{"pid"'))) as { pid: number, url: string }
  return { parent, stdout, stderr, pid, url }
}

/** A kept-alive connection to the mock, after one answered request. */
async function openConnection (url: string): Promise<Socket> {
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  socket.write('GET /__mock/health HTTP/1.1\r\nHost: mock\r\nConnection: keep-alive\r\n\r\n')
  const [chunk] = await once(socket, 'data') as [Buffer]
  if (!chunk.toString().startsWith('HTTP/1.1 200')) throw new Error(`unexpected answer: ${chunk.toString()}`)
  socket.resume()
  return socket
}

t.test('the bin on a free port: typed access over HTTP, one key per test, SIGTERM stops it cleanly', async (t) => {
  const mock = await startMockProcess({ ...BUILT, config: { MOCK_CLOCK: 'manual', MOCK_MAX_RECORDS: 3 } })
  t.ok(mock.port > 0)
  t.equal(mock.url, `http://127.0.0.1:${mock.port}`)
  t.equal(mock.pid, mock.child.pid)
  t.not(mock.pid, process.pid)
  const a = mock.isolate()
  const b = mock.isolate()
  t.equal(await bulk(mock.url, a.headers, 2), 202)
  t.equal(await bulk(mock.url, a.headers, 4), 413, 'the config reached the child (MOCK_MAX_RECORDS=3)')
  t.same((await a.jobs()).map((job) => job.status), ['queued'], 'manual clock: it waits')
  t.equal(await a.flush(), 1)
  t.equal((await a.users()).length, 2)
  t.same(await b.users(), [], 'another key sees nothing')
  t.equal((await mock.requests()).length, 2, 'and the process-wide calls work too')
  const signals: unknown[] = []
  const kill = mock.child.kill.bind(mock.child)
  mock.child.kill = (signal) => { signals.push(signal); return kill(signal) }
  await Promise.all([mock.close(), mock.close()])
  t.same(signals, ['SIGTERM'], 'one SIGTERM for two close() at once (a second one would make it exit 1)')
  t.same(await mock.exited, { code: 0, signal: null }, 'exit 0 after SIGTERM')
  await mock.close()
  t.pass('close() again resolves')
})

t.test('a port, a host, and an admin token the client then sends', async (t) => {
  const port = await freePort()
  const mock = await started(t, { ...BUILT, port, host: '127.0.0.1', config: { MOCK_ADMIN_TOKEN: 'admin-secret' } })
  t.equal(mock.port, port)
  t.equal((await fetch(`${mock.url}/__mock/jobs?all=1`)).status, 401, 'plain HTTP needs the token')
  t.same(await mock.jobs('k'), [], 'the typed calls send it')
})

t.test('a start that fails is an error with the child\'s stderr', async (t) => {
  const port = await freePort()
  await t.rejects(startMockProcess({ ...BUILT, config: { MOCK_STORE: `redis://127.0.0.1:${port}` } }),
    { message: `userpilot-mock exited (1) before it listened; its stderr:\nuserpilot-mock: MOCK_STORE (--store): cannot reach Redis at redis://127.0.0.1:${port} (ECONNREFUSED)` })
  await t.rejects(startMockProcess({ execPath: `${ROOT}no-such-node` }), { code: 'ENOENT' }, 'a Node.js that is not there')
})

t.test('a bin that never says it listens is killed after timeoutMs', async (t) => {
  await t.rejects(startMockProcess({ bin: FAKE_BIN, env: { FAKE_BIN: 'silent' }, timeoutMs: 2000 }),
    { message: 'userpilot-mock did not report that it listens within 2000 ms; its stderr:\nstarting slowly' })
})

t.test('a bin whose health check fails is killed', async (t) => {
  await t.rejects(startMockProcess({ bin: FAKE_BIN, env: { FAKE_BIN: 'unhealthy' } }), { message: /^userpilot-mock listens on http:\/\/127\.0\.0\.1:\d+ but its health check answered 503$/ })
})

t.test('a bin whose health check never answers is killed after timeoutMs', async (t) => {
  await t.rejects(startMockProcess({ bin: FAKE_BIN, env: { FAKE_BIN: 'mute' }, timeoutMs: 2000 }), { message: 'userpilot-mock\'s health check did not answer within 2000 ms' })
})

t.test('after the start, the child\'s stderr is passed on; close() after the child died resolves', async (t) => {
  const mock = await startMockProcess({ bin: FAKE_BIN, env: { FAKE_BIN: 'healthy' } })
  // The child's pipe no longer keeps this process alive (startMockProcess unrefs it); here it must, until the words come.
  const pipe = mock.child.stderr as Socket
  pipe.ref()
  const write = process.stderr.write
  const seen = new Promise<string>((resolve) => {
    process.stderr.write = ((chunk: string | Uint8Array) => {
      if (chunk.toString().includes('late words')) resolve(chunk.toString())
      return true
    }) as typeof process.stderr.write
  })
  t.teardown(() => { process.stderr.write = write })
  mock.child.send({ say: 'late words' })
  t.equal(await seen, 'late words')
  process.stderr.write = write
  pipe.unref()
  mock.child.ref()
  mock.child.kill('SIGKILL')
  t.same(await mock.exited, { code: null, signal: 'SIGKILL' })
  await mock.close()
  t.pass('close() of a child that has exited resolves')
})

t.test('killing the test process (SIGKILL) ends the mock too; logs can go to stderr', async (t) => {
  const { parent, stderr, pid, url } = await parentWithMock({ logs: 'stderr', config: { LOG_LEVEL: 'info' } }, 'stay')
  t.match(await stderr.where((line) => line.includes('Server listening')), /"msg":"Server listening at http:\/\/127\.0\.0\.1:\d+"/, 'the mock\'s log lines on the parent\'s stderr')
  const connection = await openConnection(url)
  const closed = once(connection, 'close')
  parent.kill('SIGKILL')
  t.same(await once(parent, 'exit'), [null, 'SIGKILL'])
  await closed
  t.ok(await ended(pid), `the mock (pid ${pid}) has ended`)
})

t.test('a parent that forgets close() still ends, and the mock with it; logs can go to stdout', async (t) => {
  const { parent, stdout, pid, url } = await parentWithMock({ logs: 'stdout', config: { LOG_LEVEL: 'info' } }, 'leave')
  const connection = await openConnection(url).catch(() => undefined)
  const exit = once(parent, 'exit')
  t.match(await stdout.where((line) => line.includes('Server listening')), /"msg":"Server listening at/, 'the mock\'s log lines on the parent\'s stdout')
  t.same(await exit, [0, null], 'the child does not keep its parent alive')
  if (connection !== undefined && !connection.closed) await once(connection, 'close')
  t.ok(await ended(pid), `the mock (pid ${pid}) has ended`)
})

t.test('a parent that closes the mock: SIGTERM, exit 0, and the parent ends', async (t) => {
  const { parent, stdout, pid } = await parentWithMock({}, 'stay')
  const exit = once(parent, 'exit')
  parent.stdin?.end()
  t.same(JSON.parse(await stdout.where((line) => line.startsWith('{"code"'))), { code: 0, signal: null })
  t.same(await exit, [0, null])
  t.ok(await ended(pid))
})

t.test('binPath: the bundled server, from the build and from the source', async (t) => {
  t.equal(binPath(), BUILT_BIN, 'from src/ (tsx): the build')
  t.equal(binPath(new URL('../dist/src/child-process.js', import.meta.url)), BUILT_BIN, 'from dist/src/: its bundle')
})

t.test('START_FLAGS are those of npm start', async (t) => {
  const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { scripts: { start: string } }
  t.same(START_FLAGS, pkg.scripts.start.split(' ').slice(1, -1))
})

t.test('childEnv: none of the mock\'s settings from this environment, the options\' instead', async (t) => {
  const parent = { PATH: '/bin', PORT: '3000', MOCK_STORE: 'redis://elsewhere:6379', MOCK_CLOCK: 'manual', LOG_LEVEL: 'debug' }
  t.same(childEnv({}, parent), { PATH: '/bin', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', [PARENT_LINK_ENV]: '1' })
  t.same(childEnv({ port: 4000, host: '::1', logs: 'stderr', config: { MOCK_STAGE_MS: 5, LOG_LEVEL: 'warn', MOCK_ROWS_PER_MIN: undefined } }, parent),
    { PATH: '/bin', MOCK_STAGE_MS: '5', LOG_LEVEL: 'warn', PORT: '4000', HOST: '::1', [PARENT_LINK_ENV]: '1' })
  t.same(childEnv({ logs: 'stdout' }, parent).LOG_LEVEL, undefined, 'logs shown: the bin\'s default level')
  t.same(childEnv({ config: { LOG_LEVEL: 'error' } }, parent).LOG_LEVEL, 'error', 'a level given wins over silent')
  t.same(childEnv({ env: { PORT: '5', EXTRA: 'x' } }, parent), { PATH: '/bin', PORT: '5', HOST: '127.0.0.1', LOG_LEVEL: 'silent', [PARENT_LINK_ENV]: '1', EXTRA: 'x' }, 'env wins over everything')
})
