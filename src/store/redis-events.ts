import { eventMatches, type EventFilter, type EventRecord, type EventStore, type NumberedEvent } from './event-store.js'
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

/**
 * ARGV: P, tenant, after, limit → the list entries numbered after+1 …
 * after+limit, newest first. Every append numbers and pushes in one step and
 * the trim drops only the oldest, so the entry numbered s sits at index
 * newest - s: the window is one LRANGE, however long the list.
 */
const SCAN_EVENTS: LuaScript = {
  name: 'upScanEvents',
  lua: `
local key = ARGV[1] .. 't:' .. ARGV[2] .. ':events'
local head = redis.call('LINDEX', key, 0)
if not head then return {} end
local newest = tonumber(string.sub(head, 1, string.find(head, '\\n', 1, true) - 1))
local first, last = tonumber(ARGV[3]) + 1, math.min(newest, tonumber(ARGV[3]) + tonumber(ARGV[4]))
if last < first then return {} end
return redis.call('LRANGE', key, newest - last, newest - first)
`
}

/** A list entry: the event's number, a newline, the event's JSON without its tenant. */
function decEntry (tenant: string, entry: string): NumberedEvent {
  const cut = entry.indexOf('\n')
  return { seq: Number(entry.slice(0, cut)), event: { tenant, ...JSON.parse(entry.slice(cut + 1)) as Omit<EventRecord, 'tenant'> } }
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
      const { seq, event } = decEntry(tenant, entry)
      return { id: seq, item: eventMatches(event, filter) ? event : undefined }
    }))
  }

  async scan (tenant: string, after: number, limit: number): Promise<NumberedEvent[]> {
    if (limit <= 0) return []
    const entries = await this.#ctx.guard(async () => await this.#ctx.run(SCAN_EVENTS, this.#ctx.prefix, enc(tenant), after, limit) as string[])
    return entries.reverse().map((entry) => decEntry(tenant, entry))
  }

  async lastSeq (tenant: string): Promise<number> {
    return Number(await this.#ctx.guard(async () => await this.#ctx.redis.get(`${this.#ctx.t(tenant)}eseq`)) ?? 0)
  }
}
