import { createServer, type Socket } from 'node:net'
import { once } from 'node:events'
import t, { type Test } from 'tap'
import { buildApp } from '../../src/app.js'
import { ConfigError, parseConfig } from '../../src/config.js'
import { main } from '../../src/server.js'
import { createStore } from '../../src/store/create-store.js'
import { parseStoreUrl, redactUrl } from '../../src/store/redis-connect.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { DEFAULT_PREFIX, RedisStore } from '../../src/store/redis-store.js'
import { freePort, redisSkipReason, sharedRedisUrl, testPrefix } from '../helpers/redis.js'

t.test('parseStoreUrl takes the mock\'s own prefix parameter out of the URL', async (t) => {
  t.same(parseStoreUrl('redis://cache:6379/2'), { url: 'redis://cache:6379/2', prefix: DEFAULT_PREFIX })
  t.same(parseStoreUrl('redis://cache:6379/2?prefix=ci-1:&family=6'), { url: 'redis://cache:6379/2?family=6', prefix: 'ci-1:' })
})

t.test('redactUrl masks the password only', async (t) => {
  t.equal(redactUrl('redis://:s3cret@cache:6379/0'), 'redis://:***@cache:6379/0')
  t.equal(redactUrl('redis://user:s3cret@cache:6379'), 'redis://user:***@cache:6379')
  t.equal(redactUrl('redis://cache:6379'), 'redis://cache:6379')
})

t.test('createStore: memory by default', async (t) => {
  const store = await createStore(parseConfig({}))
  t.type(store, MemoryStore)
  await store.close()
})

t.test('createStore: a redis:// URL gives a connected Redis store under the prefix of the URL', { skip: redisSkipReason() }, async (t) => {
  const url = new URL(await sharedRedisUrl())
  const prefix = testPrefix()
  url.searchParams.set('prefix', prefix)
  const store = await createStore(parseConfig({ MOCK_STORE: url.toString(), MOCK_JOB_RETENTION: 5 })) as RedisStore
  t.teardown(() => store.close())
  t.type(store, RedisStore)
  t.equal(store.prefix, prefix)
  t.equal(await store.redis.ping(), 'PONG')
})

t.test('an unreachable Redis fails the start with one line, password masked', async (t) => {
  const port = await freePort()
  const error = await createStore(parseConfig({ MOCK_STORE: `redis://admin:hunter2@127.0.0.1:${port}/0` })).catch((failure: unknown) => failure) as Error
  t.type(error, ConfigError)
  t.equal(error.message, `MOCK_STORE (--store): cannot reach Redis at redis://admin:***@127.0.0.1:${port}/0 (ECONNREFUSED)`)

  const errors: string[] = []
  const io = { stdout: { write: () => true }, stderr: { write: (text: string) => errors.push(text) } }
  t.equal(await main([], { MOCK_STORE: `redis://:hunter2@127.0.0.1:${port}` }, io), 1, 'the process exits 1')
  t.same(errors, [`userpilot-mock: MOCK_STORE (--store): cannot reach Redis at redis://:***@127.0.0.1:${port} (ECONNREFUSED)\n`], 'one line, no password')
  await t.rejects(buildApp({ logger: false, config: { MOCK_STORE: `redis://127.0.0.1:${port}` } }), ConfigError, 'buildApp refuses too')
})

/** A TCP server on loopback that is not Redis, closed in teardown; its port. */
async function fakeRedis (t: Test, onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return (server.address() as { port: number }).port
}

t.test('a server that hangs up without speaking Redis: the cause is named', async (t) => {
  const port = await fakeRedis(t, (socket) => socket.destroy())
  const error = await createStore(parseConfig({ MOCK_STORE: `redis://127.0.0.1:${port}` })).catch((failure: unknown) => failure) as Error
  t.type(error, ConfigError)
  t.match(error.message, new RegExp(`^MOCK_STORE \\(--store\\): cannot reach Redis at redis://127\\.0\\.0\\.1:${port} \\([^\\n]+\\)$`))
})

t.test('a server that answers every command with an error: its reply is named', async (t) => {
  const port = await fakeRedis(t, (socket) => { socket.on('data', () => socket.write('-ERR not a redis\r\n')) })
  const error = await createStore(parseConfig({ MOCK_STORE: `redis://127.0.0.1:${port}` })).catch((failure: unknown) => failure) as Error
  t.type(error, ConfigError)
  t.equal(error.message, `MOCK_STORE (--store): cannot reach Redis at redis://127.0.0.1:${port} (ERR not a redis)`)
})
