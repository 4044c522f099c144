import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { request as httpRequest } from 'node:http'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import { describeSettings, parseConfig } from '../src/config.js'
import { helpText, loggerOptions, main, readCommand, startServer } from '../src/server.js'
import { freePort } from './helpers/redis.js'
import { VERSION } from '../src/version.js'
import { JobAccepted } from '../schemas/jobs.js'
import { assertSchema } from './helpers/app.js'

const BUILT_SERVER = fileURLToPath(new URL('../dist/bundle/server.js', import.meta.url))
const SOURCE_SERVER = fileURLToPath(new URL('../src/server.ts', import.meta.url))

/**
 * How to start the server as a child: the build as users run it (outside the
 * coverage run: with a stale build its source maps would miscount), or the
 * source under this test's own loaders, so its process entry is covered too.
 */
const ENTRIES = {
  built: { args: [BUILT_SERVER], env: { NODE_OPTIONS: '' } },
  source: { args: [...process.execArgv, SOURCE_SERVER], env: {} }
} as const

t.test('readCommand', async (t) => {
  t.same(readCommand(['--help'], {}), { kind: 'help' })
  t.same(readCommand(['-v'], {}), { kind: 'version' })
  const serve = readCommand(['--port', '4010', '--stage-ms=5'], { PORT: '4000', MOCK_STAGE_MS: '7', MOCK_CLOCK: 'manual' })
  t.equal(serve.kind, 'serve')
  t.match(serve, { config: { PORT: 4010, MOCK_STAGE_MS: 5, MOCK_CLOCK: 'manual' } }, 'flags win, the environment fills the rest')
  t.throws(() => readCommand(['--bogus'], {}), /Unknown option '--bogus' \(see --help\)/)
  t.throws(() => readCommand(['stray'], {}), /see --help/)
  t.throws(() => readCommand([], { MOCK_CONCURRENCY: 'maybe' }), /invalid MOCK_CONCURRENCY \(--concurrency\) = "maybe": expected one of reject, queue/)
})

t.test('helpText lists every option with its variable and default', async (t) => {
  const text = helpText()
  t.match(text, `userpilot-mock ${VERSION}`)
  for (const setting of describeSettings()) {
    t.match(text, new RegExp(`${setting.flag} <value>\\s+${setting.name}\\s+default: ${setting.default.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), setting.name)
  }
  t.match(text, '--help')
  t.match(text, '--version')
})

t.test('loggerOptions: JSON lines, pretty only on a TTY, key redacted', async (t) => {
  const config = parseConfig({ LOG_LEVEL: 'debug' })
  t.match(loggerOptions(config, false), { level: 'debug', redact: ['req.headers.authorization'] })
  t.notOk('transport' in (loggerOptions(config, false) as object))
  t.ok('stream' in (loggerOptions(config, false) as object), 'an asynchronous destination off a TTY')
  t.match(loggerOptions(config, true), { transport: { target: 'pino-pretty' } })
})

t.test('startServer listens on a free port and answers', async (t) => {
  const app = await startServer(parseConfig({ PORT: 0, LOG_LEVEL: 'silent' }))
  t.teardown(() => app.close())
  const address = app.addresses()[0] as { address: string, port: number }
  t.equal(address.address, '127.0.0.1', 'loopback by default')
  const res = await fetch(`http://127.0.0.1:${address.port}/__mock/health`)
  t.equal(res.status, 200)
})

t.test('main: help, version and bad input, in process', async (t) => {
  const printed: string[] = []
  const errors: string[] = []
  const io = { stdout: { write: (text: string) => printed.push(text) }, stderr: { write: (text: string) => errors.push(text) } }
  t.equal(await main(['--help'], {}, io), 0)
  t.equal(await main(['--version'], {}, io), 0)
  t.equal(await main(['--port', 'x'], {}, io), 2)
  const port = await freePort()
  t.equal(await main([], { MOCK_STORE: `redis://127.0.0.1:${port}` }, io), 1, 'a start-up failure exits 1')
  t.match(printed[0], 'Usage: userpilot-mock [options]')
  t.equal(printed[1], `${VERSION}\n`)
  t.equal(errors.length, 2)
  t.equal(errors[0], 'userpilot-mock: invalid PORT (--port) = "x": expected an integer from 0 to 65535\n', 'one line naming the variable')
  t.equal(errors[1], `userpilot-mock: MOCK_STORE (--store): cannot reach Redis at redis://127.0.0.1:${port} (ECONNREFUSED)\n`, 'one line naming the store')
})

interface Child { child: ChildProcessWithoutNullStreams, url: string, lines: string[] }

/** Starts the built server on a free port and resolves once it logs its address. */
async function startChild (t: Test, entry: keyof typeof ENTRIES): Promise<Child> {
  const { args, env } = ENTRIES[entry]
  const child = spawn(process.execPath, [...args, '--port', '0'], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env }
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const lines: string[] = []
  const reader = createInterface({ input: child.stdout })
  for await (const line of reader) {
    lines.push(line)
    const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
    if (match !== null) return { child, url: match[1] as string, lines }
  }
  throw new Error(`the server did not start: ${lines.join('\n')}`)
}

t.test('the built server runs as a child process and accepts a bulk request', async (t) => {
  const { child, url } = await startChild(t, 'built')
  const res = await fetch(`${url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: 'Token child-key', 'content-type': 'application/json' },
    body: JSON.stringify({ users: [{ user_id: 'u1', metadata: { plan: 'pro' } }] })
  })
  t.equal(res.status, 202)
  const body = await res.json() as JobAccepted
  assertSchema(t, JobAccepted, body)
  t.equal(body.links, `${url}/v1/background_jobs/${body.job_id}`)
  child.kill('SIGINT')
  const [code] = await once(child, 'exit')
  t.equal(code, 0, 'SIGINT exits 0')
})

t.test('SIGTERM finishes the request in flight, then exits 0', async (t) => {
  const { child, url } = await startChild(t, 'source')
  const payload = JSON.stringify({ users: [{ user_id: 'in-flight' }] })
  const req = httpRequest(`${url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: {
      authorization: 'Token child-key',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
      // The server's 100 Continue proves it has parsed the headers: the request is in flight.
      expect: '100-continue'
    }
  })
  const response = once(req, 'response')
  req.flushHeaders()
  await once(req, 'continue')
  child.kill('SIGTERM')
  req.end(payload)
  const [res] = await response as [import('node:http').IncomingMessage]
  let text = ''
  for await (const chunk of res) text += String(chunk)
  t.equal(res.statusCode, 202, 'the request in flight is answered')
  t.match(JSON.parse(text), { status: 'queued', total_rows: 1 })
  const [code] = await once(child, 'exit')
  t.equal(code, 0)
})

t.test('an invalid setting stops the process with one line and a non-zero exit', async (t) => {
  const child = spawn(process.execPath, [...ENTRIES.source.args, '--stage-ms', 'soon'], { env: { ...process.env } })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const [code] = await once(child, 'exit')
  t.equal(code, 2)
  t.equal(stderr, 'userpilot-mock: invalid MOCK_STAGE_MS (--stage-ms) = "soon": expected an integer from 0 to 86400000\n')
})
