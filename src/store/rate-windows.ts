/**
 * Sliding windows of admitted requests, per tenant and bucket: the state
 * behind MOCK_RATE_LIMITS=docs. Shared by every replica on Redis, so that a
 * limit holds across them.
 */
export interface RateWindows {
  /**
   * Admits one request at `now` when fewer than `limit` were admitted in the
   * `windowMs` before it, and counts it: returns 0. Otherwise counts nothing
   * and returns the milliseconds until a request would be admitted.
   */
  take(tenant: string, bucket: string, limit: number, windowMs: number, now: number): Promise<number>
}
