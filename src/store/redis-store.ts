import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { hostname } from 'node:os'
import { Redis, ReplyError, type RedisOptions } from 'ioredis'
import type { JobStatus } from '../../schemas/jobs.js'
import { isTerminal, type Stage } from '../jobs/lifecycle.js'
import type { JobLeases, JobRef } from '../jobs/lease.js'
import { dec, decCompany, decFault, decFaultEntry, decJob, decJournal, decUser, enc, encFault, encJob, encRow, globEscape, journalTag } from './redis-codec.js'
import * as scripts from './redis-scripts.js'
import { StoreUnavailableError } from './store-unavailable.js'
import { FAULT_LIMIT, type CompanyView, type CreateJobResult, type FaultRule, type JobRecord, type JobRow, type JournalRecord, type MockStore, type Page, type StoredUser } from './store.js'

export interface RedisStoreOptions {
  /** Terminal jobs kept per tenant; the oldest are forgotten first. */
  jobRetention: number
  /** Journal entries kept across tenants (default 1000). */
  journalSize?: number
  /** Faults queued per tenant at most (default 100). */
  faultLimit?: number
  /** Prefix of every key, so that several mocks (or test files) share one Redis (default `userpilot-mock:`). */
  prefix?: string
  /** How long a replica's lease on a job lasts unless renewed (default 3000 ms). */
  leaseMs?: number
}

/** The key prefix when none is given. */
export const DEFAULT_PREFIX = 'userpilot-mock:'
/** A job's lease when none is given: a dead replica's jobs move on again within about this long. */
export const DEFAULT_LEASE_MS = 3000
/** Entries read per round trip when the journal is filtered. */
const JOURNAL_BATCH = 200

/**
 * Connection settings for a mock that must answer, not wait: with Redis away
 * a command fails at once (no offline queue, one retry, a timeout), so the
 * request gets a 503 and the client retries; the connection keeps trying in
 * the background and the mock carries on when Redis is back.
 */
export function redisOptions (): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 3000,
    commandTimeout: 5000,
    retryStrategy: (attempt) => Math.min(50 * attempt, 1000)
  }
}

type ScriptName = 'upCreateJob' | 'upTransitionJob' | 'upApplyRows' | 'upSetFailAt' | 'upOldestActive' | 'upAppendRequest' | 'upForgetRequests' | 'upAddFaults' | 'upTakeFault' | 'upAcquireLease' | 'upReleaseLease'
type ScriptCall = (...args: Array<string | number>) => Promise<unknown>

const SCRIPTS: ReadonlyArray<[ScriptName, string, number]> = [
  ['upCreateJob', scripts.CREATE_JOB, 0],
  ['upTransitionJob', scripts.TRANSITION_JOB, 0],
  ['upApplyRows', scripts.APPLY_ROWS, 0],
  ['upSetFailAt', scripts.SET_FAIL_AT, 0],
  ['upOldestActive', scripts.OLDEST_ACTIVE, 0],
  ['upAppendRequest', scripts.APPEND_REQUEST, 0],
  ['upForgetRequests', scripts.FORGET_REQUESTS, 0],
  ['upAddFaults', scripts.ADD_FAULTS, 0],
  ['upTakeFault', scripts.TAKE_FAULT, 0],
  ['upAcquireLease', scripts.ACQUIRE_LEASE, 1],
  ['upReleaseLease', scripts.RELEASE_LEASE, 1]
]

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

/**
 * The shared backend: every piece of state in Redis under one key prefix, so
 * that several mock processes serve the same tenants, and state outlives a
 * restart of the mock (and of Redis, with persistence on). Multi-key steps
 * are Lua scripts (redis-scripts.ts), atomic across replicas.
 */
export class RedisStore implements MockStore {
  readonly #redis: Redis
  readonly #prefix: string
  readonly #jobRetention: number
  readonly #journalSize: number
  readonly #faultLimit: number
  /** This replica's name on the leases it holds: host and pid say which process, the rest makes it unique. */
  readonly replicaId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  /** The job leases of this replica (see JobRunner). */
  readonly leases: JobLeases

  /** Uses a connected client (see {@link connectRedis}); `close()` disconnects it. */
  constructor (redis: Redis, options: RedisStoreOptions) {
    this.#redis = redis
    this.#prefix = options.prefix ?? DEFAULT_PREFIX
    this.#jobRetention = options.jobRetention
    this.#journalSize = options.journalSize ?? 1000
    this.#faultLimit = options.faultLimit ?? FAULT_LIMIT
    for (const [name, lua, numberOfKeys] of SCRIPTS) {
      if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys })
    }
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.leases = {
      leaseMs,
      acquire: async (job) => await this.#guard(async () => await this.#script('upAcquireLease', this.#leaseKey(job), this.replicaId, leaseMs) === 1),
      release: async (job) => { await this.#guard(async () => await this.#script('upReleaseLease', this.#leaseKey(job), this.replicaId)) },
      activeJobs: async () => await this.#guard(async () => {
        const members = await this.#redis.smembers(`${this.#prefix}active`)
        return members.map((member) => {
          const [tenant, jobId] = member.split('\n') as [string, string]
          return { tenant: dec(tenant), jobId: dec(jobId) }
        })
      })
    }
  }

  /** The Redis client (tests use it to look behind the store's back). */
  get redis (): Redis {
    return this.#redis
  }

  /** The key prefix of this store. */
  get prefix (): string {
    return this.#prefix
  }

  /** The key of the lease on a job. */
  #leaseKey (job: JobRef): string {
    return `${this.#t(job.tenant)}lease:${enc(job.jobId)}`
  }

  /** The prefix of a tenant's keys. */
  #t (tenant: string): string {
    return `${this.#prefix}t:${enc(tenant)}:`
  }

  async #script (name: ScriptName, ...args: Array<string | number>): Promise<unknown> {
    return await (this.#redis as unknown as Record<ScriptName, ScriptCall>)[name](...args)
  }

  async #guard<T> (work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      throw storeError(error as Error)
    }
  }

  async createJob (job: JobRecord, rows: readonly JobRow[], options: { exclusive?: boolean } = {}): Promise<CreateJobResult> {
    return await this.#guard(async () => {
      const active = await this.#script('upCreateJob', this.#prefix, enc(job.tenant), enc(job.jobId), options.exclusive === true ? 1 : 0,
        ...encJob(job), ...rows.map((row) => encRow(job.type, row))) as string | null
      return active === null ? { created: true } : { created: false, activeJobId: dec(active) }
    })
  }

  async oldestActiveJob (tenant: string): Promise<JobRecord | undefined> {
    return await this.#guard(async () => this.#job(await this.#script('upOldestActive', this.#prefix, enc(tenant))))
  }

  /** A job from a script's reply (nil, or the hash as a flat list) or from HGETALL (an object, empty when there is none). */
  #job (reply: unknown): JobRecord | undefined {
    const hash = reply as string[] | Record<string, string> | null
    return hash === null || Object.keys(hash).length === 0 ? undefined : decJob(hash)
  }

  async getJob (tenant: string, jobId: string): Promise<JobRecord | undefined> {
    return await this.#guard(async () => this.#job(await this.#redis.hgetall(`${this.#t(tenant)}job:${enc(jobId)}`)))
  }

  async listJobs (tenant: string, page: Page): Promise<JobRecord[]> {
    return await this.#guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#t(tenant)
      const ids = await this.#redis.zrevrange(`${t}jobs`, page.offset, page.offset + page.limit - 1)
      const pipeline = this.#redis.pipeline()
      for (const id of ids) pipeline.hgetall(`${t}job:${id}`)
      const hashes = await this.#exec(pipeline)
      // A job dropped by retention between the two round trips is left out.
      return hashes.map((hash) => this.#job(hash)).filter((job): job is JobRecord => job !== undefined)
    })
  }

  async #exec (pipeline: ReturnType<Redis['pipeline']>): Promise<unknown[]> {
    const results = await pipeline.exec() as Array<[Error | null, unknown]>
    return results.map(([error, value]) => {
      if (error !== null) throw error
      return value
    })
  }

  async transitionJob (tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined> {
    return await this.#guard(async () => this.#job(await this.#script('upTransitionJob', this.#prefix, enc(tenant), enc(jobId), from, to, at, isTerminal(to) ? 1 : 0, this.#jobRetention)))
  }

  async applyRows (tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined> {
    return await this.#guard(async () => this.#job(await this.#script('upApplyRows', this.#prefix, enc(tenant), enc(jobId), count, at)))
  }

  async setFailAt (tenant: string, jobId: string, stage: Stage): Promise<JobRecord | undefined> {
    return await this.#guard(async () => this.#job(await this.#script('upSetFailAt', this.#prefix, enc(tenant), enc(jobId), JSON.stringify(stage))))
  }

  async getUser (tenant: string, userId: string): Promise<StoredUser | undefined> {
    return await this.#guard(async () => {
      const field = enc(userId)
      const record = await this.#redis.hget(`${this.#t(tenant)}users`, field)
      return record === null ? undefined : decUser(field, record)
    })
  }

  async listUsers (tenant: string, page: Page, filter: { companyId?: string | undefined } = {}): Promise<StoredUser[]> {
    return await this.#guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#t(tenant)
      const order = filter.companyId === undefined ? `${t}uorder` : `${t}cu:${enc(filter.companyId)}`
      const fields = await this.#redis.zrange(order, String(page.offset), String(page.offset + page.limit - 1))
      if (fields.length === 0) return []
      const records = await this.#redis.hmget(`${t}users`, ...fields)
      return fields.flatMap((field, index) => {
        const record = records[index]
        return record === null || record === undefined ? [] : [decUser(field, record)]
      })
    })
  }

  async getCompany (tenant: string, companyId: string): Promise<CompanyView | undefined> {
    return await this.#guard(async () => {
      const t = this.#t(tenant)
      const field = enc(companyId)
      const [record, count] = await this.#exec(this.#redis.multi().hget(`${t}companies`, field).zcard(`${t}cu:${field}`)) as [string | null, number]
      return record === null ? undefined : { ...decCompany(field, record), userCount: count }
    })
  }

  async listCompanies (tenant: string, page: Page): Promise<CompanyView[]> {
    return await this.#guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#t(tenant)
      const fields = await this.#redis.zrange(`${t}corder`, String(page.offset), String(page.offset + page.limit - 1))
      if (fields.length === 0) return []
      const multi = this.#redis.multi().hmget(`${t}companies`, ...fields)
      for (const field of fields) multi.zcard(`${t}cu:${field}`)
      const [records, ...counts] = await this.#exec(multi) as [Array<string | null>, ...number[]]
      return fields.flatMap((field, index) => {
        const record = records[index]
        return record === null || record === undefined ? [] : [{ ...decCompany(field, record), userCount: counts[index] as number }]
      })
    })
  }

  async listTenants (): Promise<string[]> {
    return await this.#guard(async () => (await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1')).map((tenant) => dec(tenant)))
  }

  async appendRequest (record: Omit<JournalRecord, 'id'>): Promise<void> {
    await this.#guard(async () => await this.#script('upAppendRequest', this.#prefix, journalTag(record.tenant), JSON.stringify(record), this.#journalSize))
  }

  async listRequests (tenant: string | null, page: Page): Promise<JournalRecord[]> {
    return await this.#guard(async () => {
      const key = `${this.#prefix}journal`
      const tag = journalTag(tenant)
      const result: JournalRecord[] = []
      let skip = page.offset
      // Entries are newest first and numbered in order: one seen again after
      // a concurrent append shifted the list is recognised by its number.
      let below = Infinity
      for (let start = 0; result.length < page.limit; start += JOURNAL_BATCH) {
        const batch = await this.#redis.lrange(key, start, start + JOURNAL_BATCH - 1)
        for (const entry of batch) {
          const { tag: entryTag, record } = decJournal(entry)
          if (record.id >= below) continue
          below = record.id
          if (tenant !== null && entryTag !== tag) continue
          if (skip > 0) skip--
          else if (result.length < page.limit) result.push(record)
        }
        if (batch.length < JOURNAL_BATCH) break
      }
      return result
    })
  }

  async addFaults (rules: readonly FaultRule[]): Promise<boolean> {
    return await this.#guard(async () => {
      const groups = new Map<string, string[]>()
      for (const rule of rules) {
        const tenant = enc(rule.tenant)
        const group = groups.get(tenant) ?? []
        group.push(encFault(rule))
        groups.set(tenant, group)
      }
      const args = [...groups].flatMap(([tenant, entries]) => [tenant, String(entries.length), ...entries])
      return await this.#script('upAddFaults', this.#prefix, this.#faultLimit, ...args) === 1
    })
  }

  async listFaults (tenant: string | null): Promise<FaultRule[]> {
    return await this.#guard(async () => {
      const tenants = tenant === null ? await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1') : [enc(tenant)]
      const pipeline = this.#redis.pipeline()
      for (const each of tenants) pipeline.lrange(`${this.#prefix}t:${each}:faults`, 0, -1)
      const lists = await this.#exec(pipeline) as string[][]
      return lists.flat().map(decFaultEntry)
    })
  }

  async clearFaults (tenant: string | null): Promise<void> {
    await this.#guard(async () => {
      const tenants = tenant === null ? await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1') : [enc(tenant)]
      if (tenants.length > 0) await this.#redis.del(...tenants.map((each) => `${this.#prefix}t:${each}:faults`))
    })
  }

  async takeFault (tenant: string, method: string, path: string): Promise<FaultRule | undefined> {
    return await this.#guard(async () => {
      const taken = await this.#script('upTakeFault', this.#prefix, enc(tenant), enc(method), enc(path)) as [string, string] | null
      return taken === null ? undefined : decFault(taken[1], taken[0])
    })
  }

  async reset (tenant: string | null): Promise<void> {
    await this.#guard(async () => {
      if (tenant === null) {
        // The journal's numbering goes on after a reset, as in memory.
        await this.#deleteMatching(`${globEscape(this.#prefix)}*`, new Set([`${this.#prefix}jseq`]))
        return
      }
      const encoded = enc(tenant)
      await this.#deleteMatching(`${globEscape(this.#t(tenant))}*`, new Set())
      const active = (await this.#redis.smembers(`${this.#prefix}active`)).filter((member) => member.startsWith(`${encoded}\n`))
      const multi = this.#redis.multi().zrem(`${this.#prefix}tenants`, encoded)
      if (active.length > 0) multi.srem(`${this.#prefix}active`, ...active)
      await this.#exec(multi)
      await this.#script('upForgetRequests', this.#prefix, journalTag(tenant))
    })
  }

  /** Deletes every key matching `pattern` but those in `keep`, by SCAN: never FLUSHDB, other prefixes stay. */
  async #deleteMatching (pattern: string, keep: ReadonlySet<string>): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      const doomed = keys.filter((key) => !keep.has(key))
      if (doomed.length > 0) await this.#redis.unlink(...doomed)
      cursor = next
    } while (cursor !== '0')
  }

  /** Disconnects; the state stays in Redis for the next mock. */
  async close (): Promise<void> {
    if (this.#redis.status === 'end') return
    const ended = once(this.#redis, 'end')
    // QUIT lets the replies in flight arrive; with Redis away it fails, and the socket is dropped anyway.
    await this.#redis.quit().catch(() => undefined)
    this.#redis.disconnect()
    // Between two reconnection attempts there is no socket left to close and
    // ioredis emits nothing more: disconnect() has cancelled the next attempt.
    if (this.#redis.status !== 'reconnecting') await ended
  }
}
