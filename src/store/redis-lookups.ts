import type { ContentItem, ContentLookup } from '../../schemas/lookups.js'
import { enc } from './redis-codec.js'
import type { LuaScript, RedisContext } from './redis-context.js'
import type { LookupStore } from './lookup-store.js'

/** ARGV: P, tenant, name, items JSON → sets T..'lookup:'..name (under the tenant's prefix, so reset takes it) and registers the tenant. */
const SET_LOOKUP: LuaScript = {
  name: 'upSetLookup',
  lua: `
local P, tenant = ARGV[1], ARGV[2]
redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), tenant)
redis.call('SET', P .. 't:' .. tenant .. ':lookup:' .. ARGV[3], ARGV[4])
return 1
`
}

/** Content lookups in Redis, shared by every replica: one JSON list per tenant and lookup. */
export class RedisLookups implements LookupStore {
  readonly #ctx: RedisContext

  constructor (context: RedisContext) {
    this.#ctx = context
  }

  async set (tenant: string, name: ContentLookup, items: readonly ContentItem[]): Promise<void> {
    await this.#ctx.guard(async () => await this.#ctx.run(SET_LOOKUP, this.#ctx.prefix, enc(tenant), name, JSON.stringify(items)))
  }

  async get (tenant: string, name: ContentLookup): Promise<ContentItem[]> {
    const json = await this.#ctx.guard(async () => await this.#ctx.redis.get(`${this.#ctx.t(tenant)}lookup:${name}`))
    return json === null ? [] : JSON.parse(json) as ContentItem[]
  }
}
