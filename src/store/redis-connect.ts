import { Redis } from 'ioredis'
import { ConfigError } from '../config.js'
import { DEFAULT_PREFIX, RedisStore, redisOptions } from './redis-store.js'

export { RedisStore }

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
