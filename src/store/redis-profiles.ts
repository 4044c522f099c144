import { MAX_METADATA_KEYS, type CompanyRow, type UserRow } from '../../schemas/bulk.js'
import type { Page } from './page.js'
import { compareDeletions, type CompanyView, type DeletionCount, type ProfileKind, type ProfileStore, type ScheduledDeletion, type StoredUser, type Touch } from './profile-store.js'
import { dec, decCompany, decUser, enc, encRow, encTouch } from './redis-codec.js'
import type { RedisContext } from './redis-context.js'
import { IDENTIFY, RUN_DELETIONS, SCHEDULE_DELETIONS } from './redis-profile-scripts.js'

/** The deletion marks' key of a kind, under a tenant's prefix. */
function marksKey (t: string, kind: ProfileKind): string {
  return `${t}${kind === 'users' ? 'udel' : 'cdel'}`
}

/** Profiles in Redis (layout in redis-scripts.ts); every write is one script. */
export class RedisProfiles implements ProfileStore {
  readonly #ctx: RedisContext

  constructor (context: RedisContext) {
    this.#ctx = context
  }

  async getUser (tenant: string, userId: string): Promise<StoredUser | undefined> {
    return await this.#ctx.guard(async () => {
      const t = this.#ctx.t(tenant)
      const field = enc(userId)
      const [record, due] = await this.#ctx.exec(this.#ctx.redis.multi().hget(`${t}users`, field).zscore(`${t}udel`, field)) as [string | null, string | null]
      return record === null ? undefined : decUser(field, record, due)
    })
  }

  async listUsers (tenant: string, page: Page, filter: { companyId?: string | undefined } = {}): Promise<StoredUser[]> {
    return await this.#ctx.guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#ctx.t(tenant)
      const order = filter.companyId === undefined ? `${t}uorder` : `${t}cu:${enc(filter.companyId)}`
      const fields = await this.#ctx.redis.zrange(order, String(page.offset), String(page.offset + page.limit - 1))
      if (fields.length === 0) return []
      const [records, dues] = await this.#ctx.exec(this.#ctx.redis.multi().hmget(`${t}users`, ...fields).zmscore(`${t}udel`, ...fields)) as [Array<string | null>, Array<string | null>]
      return fields.flatMap((field, index) => {
        const record = records[index]
        return record === null || record === undefined ? [] : [decUser(field, record, dues[index] as string | null)]
      })
    })
  }

  async getCompany (tenant: string, companyId: string): Promise<CompanyView | undefined> {
    return await this.#ctx.guard(async () => {
      const t = this.#ctx.t(tenant)
      const field = enc(companyId)
      const [record, count, due] = await this.#ctx.exec(this.#ctx.redis.multi().hget(`${t}companies`, field).zcard(`${t}cu:${field}`).zscore(`${t}cdel`, field)) as [string | null, number, string | null]
      return record === null ? undefined : { ...decCompany(field, record, due), userCount: count }
    })
  }

  async listCompanies (tenant: string, page: Page): Promise<CompanyView[]> {
    return await this.#ctx.guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#ctx.t(tenant)
      const fields = await this.#ctx.redis.zrange(`${t}corder`, String(page.offset), String(page.offset + page.limit - 1))
      if (fields.length === 0) return []
      const multi = this.#ctx.redis.multi().hmget(`${t}companies`, ...fields).zmscore(`${t}cdel`, ...fields)
      for (const field of fields) multi.zcard(`${t}cu:${field}`)
      const [records, dues, ...counts] = await this.#ctx.exec(multi) as [Array<string | null>, Array<string | null>, ...number[]]
      return fields.flatMap((field, index) => {
        const record = records[index]
        return record === null || record === undefined ? [] : [{ ...decCompany(field, record, dues[index] as string | null), userCount: counts[index] as number }]
      })
    })
  }

  async identify (tenant: string, change: { user?: UserRow | undefined, company?: CompanyRow | undefined }, touch: Touch, at: number): Promise<string | null> {
    const company = await this.#ctx.guard(async () => await this.#ctx.run(IDENTIFY, this.#ctx.prefix, enc(tenant), encTouch(touch), at,
      change.company === undefined ? '' : encRow('companies', change.company),
      change.user === undefined ? '' : encRow('users', change.user)) as string)
    return company === '' ? null : dec(company)
  }

  async scheduleDeletions (tenant: string, kind: ProfileKind, ids: readonly string[], dueAt: number): Promise<number> {
    return await this.#ctx.guard(async () => await this.#ctx.run(SCHEDULE_DELETIONS, this.#ctx.prefix, enc(tenant), kind, dueAt, ...[...new Set(ids)].map(enc)) as number)
  }

  async listDeletions (tenant: string, page: Page): Promise<ScheduledDeletion[]> {
    return await this.#ctx.guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#ctx.t(tenant)
      // All of them: Redis orders equal scores by encoded bytes, not as the contract does.
      const [users, companies] = await this.#ctx.exec(this.#ctx.redis.multi()
        .zrange(marksKey(t, 'users'), 0, '-1', 'WITHSCORES')
        .zrange(marksKey(t, 'companies'), 0, '-1', 'WITHSCORES')) as [string[], string[]]
      return [...pairs('users', users), ...pairs('companies', companies)].sort(compareDeletions).slice(page.offset, page.offset + page.limit)
    })
  }

  async runDeletions (tenant: string | null, dueBy: number): Promise<DeletionCount> {
    return await this.#ctx.guard(async () => {
      const tenants = tenant === null ? await this.#ctx.redis.smembers(`${this.#ctx.prefix}deltenants`) : [enc(tenant)]
      const count: DeletionCount = { users: 0, companies: 0 }
      for (const each of tenants) {
        const [users, companies] = await this.#ctx.run(RUN_DELETIONS, this.#ctx.prefix, each, dueBy) as [number, number]
        count.users += users
        count.companies += companies
      }
      return count
    })
  }

  async largestMetadata (): Promise<number> {
    // Not tracked in Redis: every profile a request names is looked up (metadataSizes).
    return MAX_METADATA_KEYS
  }

  async metadataSizes (tenant: string, kind: ProfileKind, ids: readonly string[]): Promise<number[]> {
    return await this.#ctx.guard(async () => {
      if (ids.length === 0) return []
      const records = await this.#ctx.redis.hmget(`${this.#ctx.t(tenant)}${kind}`, ...ids.map(enc))
      // A record is its fixed fields (5 for a user, 3 for a company), then key, value pairs.
      const fixed = kind === 'users' ? 5 : 3
      return records.map((record) => record === null ? 0 : (record.split('\n').length - fixed) / 2)
    })
  }

  async hasDeletions (): Promise<boolean> {
    return await this.#ctx.guard(async () => await this.#ctx.redis.scard(`${this.#ctx.prefix}deltenants`) > 0)
  }
}

/** ZRANGE … WITHSCORES (member, score, member, score …) as deletions. */
function pairs (kind: ProfileKind, reply: readonly string[]): ScheduledDeletion[] {
  const out: ScheduledDeletion[] = []
  for (let index = 0; index < reply.length; index += 2) out.push({ kind, id: dec(reply[index] as string), dueAt: Number(reply[index + 1]) })
  return out
}
