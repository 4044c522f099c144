import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { enc } from './redis-codec.js'
import type { LuaScript, RedisContext } from './redis-context.js'
import { EXPORT_STATUS_TTL_MS, type CreateExportResult, type ExportRecord, type ExportStore } from './export-store.js'

// Keys, under the tenant's prefix T (so that a reset's prefix deletion takes them):
//   T..'exports'             hash: encoded job id → the record's JSON (without the tenant)
//   T..'xorder'              zset of encoded job ids by creation
//   T..'xactive'             the encoded id of the export that has not ended, if any
//   T..'xfile:'..job..':'..name   a written file's bytes

/**
 * ARGV: P, tenant, job, record JSON, cutoff → nil when created, else the
 * running export's encoded id. First forgets the ended exports created at or
 * before the cutoff, oldest first, with their files.
 */
const CREATE_EXPORT: LuaScript = {
  name: 'upCreateExport',
  lua: `
local P, tenant, job = ARGV[1], ARGV[2], ARGV[3]
local T = P .. 't:' .. tenant .. ':'
local cutoff = tonumber(ARGV[5])
while true do
  local oldest = redis.call('ZRANGE', T .. 'xorder', 0, 0)
  if #oldest == 0 then break end
  local record = cjson.decode(redis.call('HGET', T .. 'exports', oldest[1]))
  if record.createdAt > cutoff or (record.status ~= 'completed' and record.status ~= 'failed') then break end
  for _, chunk in ipairs(record.chunks) do redis.call('DEL', T .. 'xfile:' .. oldest[1] .. ':' .. chunk.filename) end
  redis.call('HDEL', T .. 'exports', oldest[1])
  redis.call('ZREM', T .. 'xorder', oldest[1])
end
local active = redis.call('GET', T .. 'xactive')
if active then return active end
redis.call('ZADD', P .. 'tenants', 'NX', redis.call('INCR', P .. 'tseq'), tenant)
redis.call('HSET', T .. 'exports', job, ARGV[4])
redis.call('ZADD', T .. 'xorder', redis.call('INCR', T .. 'seq'), job)
redis.call('SET', T .. 'xactive', job)
return false
`
}

/** ARGV: P, tenant, job, new JSON, expected status, expected cursor, ended (1/0) → 1 when replaced, 0 when the job has moved on or is gone. */
const UPDATE_EXPORT: LuaScript = {
  name: 'upUpdateExport',
  lua: `
local P, tenant, job = ARGV[1], ARGV[2], ARGV[3]
local T = P .. 't:' .. tenant .. ':'
local current = redis.call('HGET', T .. 'exports', job)
if not current then return 0 end
local record = cjson.decode(current)
if record.status ~= ARGV[5] or tostring(record.cursor) ~= ARGV[6] then return 0 end
redis.call('HSET', T .. 'exports', job, ARGV[4])
if ARGV[7] == '1' and redis.call('GET', T .. 'xactive') == job then redis.call('DEL', T .. 'xactive') end
return 1
`
}

/** Export jobs in Redis, shared by every replica; their files too, so any replica serves a link. */
export class RedisExports implements ExportStore {
  readonly #ctx: RedisContext

  constructor (context: RedisContext) {
    this.#ctx = context
  }

  async create (record: ExportRecord): Promise<CreateExportResult> {
    const active = await this.#ctx.guard(async () => await this.#ctx.run(CREATE_EXPORT, this.#ctx.prefix, enc(record.tenant), enc(record.jobId), toJson(record), record.createdAt - EXPORT_STATUS_TTL_MS)) as string | null
    return active === null ? { created: true } : { created: false, activeJobId: JSON.parse(active) as string }
  }

  async get (tenant: string, jobId: string): Promise<ExportRecord | undefined> {
    const json = await this.#ctx.guard(async () => await this.#ctx.redis.hget(`${this.#ctx.t(tenant)}exports`, enc(jobId)))
    return json === null ? undefined : fromJson(tenant, json)
  }

  async list (tenant: string): Promise<ExportRecord[]> {
    return await this.#ctx.guard(async () => {
      const T = this.#ctx.t(tenant)
      const ids = await this.#ctx.redis.zrevrange(`${T}xorder`, 0, -1)
      if (ids.length === 0) return []
      const records = await this.#ctx.redis.hmget(`${T}exports`, ...ids)
      return records.filter((json): json is string => json !== null).map((json) => fromJson(tenant, json))
    })
  }

  async update (record: ExportRecord, expected: Pick<ExportRecord, 'status' | 'cursor'>): Promise<boolean> {
    const ended = record.status === 'completed' || record.status === 'failed' ? 1 : 0
    return await this.#ctx.guard(async () => await this.#ctx.run(UPDATE_EXPORT, this.#ctx.prefix, enc(record.tenant), enc(record.jobId), toJson(record), expected.status, expected.cursor, ended)) === 1
  }

  async putFile (tenant: string, jobId: string, filename: string, data: Buffer): Promise<void> {
    await this.#ctx.guard(async () => await this.#ctx.redis.set(this.#fileKey(tenant, jobId, filename), data))
  }

  async readFile (tenant: string, jobId: string, filename: string): Promise<Readable | undefined> {
    const data = await this.#ctx.guard(async () => await this.#ctx.redis.getBuffer(this.#fileKey(tenant, jobId, filename)))
    return data === null ? undefined : Readable.from([data])
  }

  async signingKey (): Promise<string> {
    return await this.#ctx.guard(async () => {
      const key = `${this.#ctx.prefix}xsecret`
      // The first replica to ask sets it; every other one reads the same.
      await this.#ctx.redis.set(key, randomBytes(32).toString('hex'), 'NX')
      return await this.#ctx.redis.get(key) as string
    })
  }

  #fileKey (tenant: string, jobId: string, filename: string): string {
    // File names are the runner's own (no separator in them), so they go in as they are.
    return `${this.#ctx.t(tenant)}xfile:${enc(jobId)}:${filename}`
  }
}

function toJson (record: ExportRecord): string {
  const { tenant: _tenant, ...rest } = record
  return JSON.stringify(rest)
}

function fromJson (tenant: string, json: string): ExportRecord {
  return { tenant, ...JSON.parse(json) as Omit<ExportRecord, 'tenant'> }
}
