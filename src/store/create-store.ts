import { Redis } from 'ioredis'
import { ConfigError, type Config } from '../config.js'
import { MemoryStore } from './memory-store.js'
import { DEFAULT_PREFIX, RedisStore, redisOptions } from './redis-store.js'
import type { MockStore } from './store.js'

/** A Redis URL fit for a message: the password, if any, masked. */
export function redactUrl (url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}

/**
 * Splits the mock's own `prefix` query parameter (the key prefix, so that
 * several mocks can share one Redis database) from the URL ioredis reads.
 */
export function parseStoreUrl (url: string): { url: string, prefix: string } {
  const parsed = new URL(url)
  const prefix = parsed.searchParams.get('prefix')
  parsed.searchParams.delete('prefix')
  return { url: parsed.toString(), prefix: prefix ?? DEFAULT_PREFIX }
}

/**
 * Connects to Redis and checks it answers (PING). On failure it gives up
 * at once, without retrying in the background, with one line naming the
 * setting, the URL (password masked) and the cause.
 */
export async function connectRedis (url: string): Promise<Redis> {
  let ready = false
  let cause: Error | undefined
  const options = redisOptions()
  const retry = options.retryStrategy as (attempt: number) => number
  const redis = new Redis(url, {
    ...options,
    // Before the first PING nothing retries: an unreachable Redis fails the start.
    retryStrategy: (attempt) => ready ? retry(attempt) : null
  })
  redis.on('error', (error: Error) => { cause = error })
  try {
    await redis.connect()
    await redis.ping()
  } catch (error) {
    redis.disconnect()
    // ioredis emits the cause (ECONNREFUSED, a reply error) before connect() or PING fails; the fallback is defensive.
    /* c8 ignore next */
    const reason = cause ?? error as Error
    const code = (reason as Error & { code?: string }).code ?? reason.message.split('\n')[0]
    throw new ConfigError(`MOCK_STORE (--store): cannot reach Redis at ${redactUrl(url)} (${code})`)
  }
  ready = true
  return redis
}

/** The state backend MOCK_STORE names: in this process (`memory`), or shared in Redis. */
export async function createStore (config: Config): Promise<MockStore> {
  const options = { jobRetention: config.MOCK_JOB_RETENTION, journalSize: config.MOCK_JOURNAL_SIZE }
  if (config.MOCK_STORE === 'memory') return new MemoryStore(options)
  const { url, prefix } = parseStoreUrl(config.MOCK_STORE)
  return new RedisStore(await connectRedis(url), { ...options, prefix })
}
