import { eventMatches, type EventFilter, type EventRecord, type EventStore } from './event-store.js'
import type { Page } from './page.js'
import { enc } from './redis-codec.js'
import type { LuaScript, RedisContext } from './redis-context.js'

/**
 * ARGV: P, tenant, event JSON, retention → the event's number. Events are a
 * list per tenant, newest first, each entry its number and its JSON.
 */
const APPEND_EVENT: LuaScript = {
  name: 'upAppendEvent',
  lua: `
local P, tenant = ARGV[1], ARGV[2]
local T = P .. 't:' .. tenant .. ':'
redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), tenant)
local id = redis.call('INCR', T .. 'eseq')
local retention = tonumber(ARGV[4])
if retention > 0 then
  redis.call('LPUSH', T .. 'events', id .. '\\n' .. ARGV[3])
  redis.call('LTRIM', T .. 'events', 0, retention - 1)
end
return id
`
}

/** Events in Redis: one list per tenant (`T..'events'`), trimmed to the retention on every append. */
export class RedisEvents implements EventStore {
  readonly #ctx: RedisContext
  readonly #retention: number

  constructor (context: RedisContext, retention: number) {
    this.#ctx = context
    this.#retention = retention
  }

  async append (event: EventRecord): Promise<void> {
    const { tenant: _tenant, ...rest } = event
    await this.#ctx.guard(async () => await this.#ctx.run(APPEND_EVENT, this.#ctx.prefix, enc(event.tenant), JSON.stringify(rest), this.#retention))
  }

  async list (tenant: string, filter: EventFilter, page: Page): Promise<EventRecord[]> {
    return await this.#ctx.guard(async () => await this.#ctx.listNewestFirst(`${this.#ctx.t(tenant)}events`, page, (entry) => {
      const cut = entry.indexOf('\n')
      const event: EventRecord = { tenant, ...JSON.parse(entry.slice(cut + 1)) as Omit<EventRecord, 'tenant'> }
      return { id: Number(entry.slice(0, cut)), item: eventMatches(event, filter) ? event : undefined }
    }))
  }
}
