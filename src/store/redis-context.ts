import { ReplyError, type Redis } from 'ioredis'
import { enc } from './redis-codec.js'
import type { Page } from './page.js'
import { StoreUnavailableError } from './store-unavailable.js'

/** A Lua script of the Redis backend, run by name (EVALSHA, loaded on first use). */
export interface LuaScript {
  readonly name: string
  readonly lua: string
  /** How many of its arguments are key names (KEYS); the rest are ARGV. */
  readonly keys?: number
}

/** What ioredis says when Redis is not there: refused, closed, offline, timed out. */
const UNAVAILABLE = /Connection is closed|Stream isn't writeable|Command timed out|max retries|ECONN|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND/i

/**
 * Redis away (refused, closed, timed out, offline) becomes a
 * StoreUnavailableError; anything else — a Redis reply error, a bug — stays
 * as it is.
 */
export function storeError (error: Error): Error {
  if (error instanceof ReplyError) return error
  const code = (error as Error & { code?: string }).code
  if (!UNAVAILABLE.test(`${code ?? ''} ${error.name} ${error.message}`)) return error
  return new StoreUnavailableError(code ?? error.message)
}

type ScriptCall = (...args: Array<string | number>) => Promise<unknown>

/** Entries read per round trip when a list is filtered. */
const LIST_BATCH = 200

/**
 * The connection, key prefix and script runner that every concern of the
 * Redis backend (jobs, profiles, events, rate windows) shares, so that the
 * key layout (redis-scripts.ts) and the error mapping live in one place.
 */
export class RedisContext {
  constructor (readonly redis: Redis, readonly prefix: string) {}

  /** The prefix of a tenant's keys. */
  t (tenant: string): string {
    return `${this.prefix}t:${enc(tenant)}:`
  }

  /** Runs a script (defined on the client on first use). */
  async run (script: LuaScript, ...args: Array<string | number>): Promise<unknown> {
    const commands = this.redis as unknown as Record<string, ScriptCall>
    if (!(script.name in this.redis)) this.redis.defineCommand(script.name, { lua: script.lua, numberOfKeys: script.keys ?? 0 })
    return await (commands[script.name] as ScriptCall)(...args)
  }

  /** Runs Redis work; Redis being away becomes a StoreUnavailableError (a 503 for the client). */
  async guard<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw storeError(error as Error)
    }
  }

  /** Runs a pipeline or transaction; the first failed command's error is thrown. */
  async exec (pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    const results = await pipeline.exec() as Array<[Error | null, unknown]>
    return results.map(([error, value]) => {
      if (error !== null) throw error
      return value
    })
  }

  /**
   * A page of a newest-first list of numbered entries, filtered: `read` gives
   * an entry's number and the item, or no item when the filter drops it.
   * Entries are read a batch at a time; one seen again after a concurrent
   * LPUSH shifted the list is recognised by its number and skipped.
   */
  async listNewestFirst<T> (key: string, page: Page, read: (entry: string) => { id: number, item: T | undefined }): Promise<T[]> {
    const result: T[] = []
    let skip = page.offset
    let below = Infinity
    for (let start = 0; result.length < page.limit; start += LIST_BATCH) {
      const batch = await this.redis.lrange(key, start, start + LIST_BATCH - 1)
      for (const entry of batch) {
        const { id, item } = read(entry)
        if (id >= below) continue
        below = id
        if (item === undefined) continue
        if (skip > 0) skip--
        else if (result.length < page.limit) result.push(item)
      }
      if (batch.length < LIST_BATCH) break
    }
    return result
  }
}
