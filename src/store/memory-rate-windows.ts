import type { RateWindows } from './rate-windows.js'

/** Rate windows in this process: the admission times of each tenant's buckets, oldest first. */
export class MemoryRateWindows implements RateWindows {
  readonly #tenants = new Map<string, Map<string, number[]>>()

  async take (tenant: string, bucket: string, limit: number, windowMs: number, now: number): Promise<number> {
    let buckets = this.#tenants.get(tenant)
    if (buckets === undefined) {
      buckets = new Map()
      this.#tenants.set(tenant, buckets)
    }
    const admitted = buckets.get(bucket) ?? []
    // A window holds at most `limit` times, so this never grows beyond it.
    const kept = admitted.filter((at) => at > now - windowMs)
    buckets.set(bucket, kept)
    if (kept.length < limit) {
      kept.push(now)
      return 0
    }
    return (kept[kept.length - limit] as number) + windowMs - now
  }

  /** Forgets a tenant's windows (every tenant's when null). */
  forget (tenant: string | null): void {
    if (tenant === null) this.#tenants.clear()
    else this.#tenants.delete(tenant)
  }
}
