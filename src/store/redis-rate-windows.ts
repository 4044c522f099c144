import { enc } from './redis-codec.js'
import type { LuaScript, RedisContext } from './redis-context.js'
import type { RateWindows } from './rate-windows.js'

/**
 * KEYS: none; ARGV: P, tenant, bucket, limit, window ms, now → 0 when
 * admitted (and counted), else the milliseconds until a request would be.
 * One script, so that replicas sharing the Redis never admit more than the
 * limit between them. Members are numbered, so equal times stay distinct.
 */
const TAKE: LuaScript = {
  name: 'upRateTake',
  lua: `
local T = ARGV[1] .. 't:' .. ARGV[2] .. ':'
local key = T .. 'rate:' .. ARGV[3]
local limit, window, now = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, redis.call('INCR', T .. 'rateseq'))
  redis.call('PEXPIRE', key, window)
  return 0
end
local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
return tonumber(oldest[2]) + window - now
`
}

/** Rate windows in Redis: a sorted set of admission times per tenant and bucket, expiring with its window. */
export class RedisRateWindows implements RateWindows {
  readonly #ctx: RedisContext

  constructor (context: RedisContext) {
    this.#ctx = context
  }

  async take (tenant: string, bucket: string, limit: number, windowMs: number, now: number): Promise<number> {
    return await this.#ctx.guard(async () => await this.#ctx.run(TAKE, this.#ctx.prefix, enc(tenant), bucket, limit, windowMs, now) as number)
  }
}
