import type { onRequestHookHandler } from 'fastify'
import type { Clock } from '../clock.js'
import { apiError } from '../errors.js'
import type { RateWindows } from '../store/rate-windows.js'
import type { Tenant } from '../tenant.js'

/** The documented per-key limits (SPEC 1.10); companies identify counts with identify, both deletes together. */
export const DOCUMENTED_LIMITS = {
  identify: { limit: 600, windowMs: 60_000, what: '600 identify calls (users and companies together) per minute' },
  track: { limit: 600, windowMs: 60_000, what: '600 track calls per minute' },
  delete: { limit: 1, windowMs: 2_000, what: 'one delete request every 2 seconds' }
} as const

export type RateBucket = keyof typeof DOCUMENTED_LIMITS

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Which documented rate limit the route counts against (MOCK_RATE_LIMITS=docs). */
    rateLimit?: RateBucket
  }
}

/**
 * MOCK_RATE_LIMITS=docs: after auth, a route with a bucket admits the key's
 * request only within the documented limit; beyond it, 429 `rate_limited`
 * with the whole seconds until a request would pass in Retry-After.
 */
export function rateLimitHook (rates: RateWindows, clock: Clock): onRequestHookHandler {
  return function rateLimit (request, _reply, done) {
    const bucket = request.routeOptions.config.rateLimit
    if (bucket === undefined) {
      done()
      return
    }
    const { limit, windowMs, what } = DOCUMENTED_LIMITS[bucket]
    rates.take((request.tenant as Tenant).id, bucket, limit, windowMs, clock.now()).then((waitMs) => {
      if (waitMs === 0) {
        done()
        return
      }
      const seconds = Math.ceil(waitMs / 1000)
      done(apiError(429, 'rate_limited', `This API key is over Userpilot's documented limit of ${what}. Retry after ${seconds} s (Retry-After).`, `retry after ${seconds} s`, { 'retry-after': String(seconds) }))
    }, done)
  }
}
