import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { hostname } from 'node:os'
import type { Redis, RedisOptions } from 'ioredis'
import type { JobStatus } from '../../schemas/jobs.js'
import { isTerminal, type JobLane, type Stage } from '../jobs/lifecycle.js'
import type { JobLeases, JobRef } from '../jobs/lease.js'
import { dec, decFault, decFaultEntry, decJob, decJournal, enc, encFault, encJob, encRow, globEscape, journalTag } from './redis-codec.js'
import { RedisContext } from './redis-context.js'
import { RedisEvents } from './redis-events.js'
import { RedisExports } from './redis-exports.js'
import { RedisLookups } from './redis-lookups.js'
import { RedisProfiles } from './redis-profiles.js'
import { RedisRateWindows } from './redis-rate-windows.js'
import * as scripts from './redis-scripts.js'
import { DEFAULT_EVENT_RETENTION, FAULT_LIMIT, journalMatches, type JournalFilter, type CreateJobOptions, type CreateJobResult, type FaultRule, type JobRecord, type JobRow, type JournalRecord, type MockStore, type Page } from './store.js'

export { storeError } from './redis-context.js'

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
  /** Events kept per tenant (default 10,000). */
  eventRetention?: number
}

/** The key prefix when none is given. */
export const DEFAULT_PREFIX = 'userpilot-mock:'
/** A job's lease when none is given: a dead replica's jobs move on again within about this long. */
export const DEFAULT_LEASE_MS = 3000

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

/**
 * The shared backend: every piece of state in Redis under one key prefix, so
 * that several mock processes serve the same tenants, and state outlives a
 * restart of the mock (and of Redis, with persistence on). Multi-key steps
 * are Lua scripts (redis-scripts.ts), atomic across replicas.
 */
export class RedisStore implements MockStore {
  readonly #ctx: RedisContext
  readonly #redis: Redis
  readonly #prefix: string
  readonly profiles: RedisProfiles
  readonly events: RedisEvents
  readonly rates: RedisRateWindows
  readonly exports: RedisExports
  readonly lookups: RedisLookups
  readonly #jobRetention: number
  readonly #journalSize: number
  readonly #faultLimit: number
  readonly #eventRetention: number
  /** This replica's name on the leases it holds: host and pid say which process, the rest makes it unique. */
  readonly replicaId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  /** The job leases of this replica (see JobRunner). */
  readonly leases: JobLeases

  /** Uses a connected client (see {@link connectRedis}); `close()` disconnects it. */
  constructor (redis: Redis, options: RedisStoreOptions) {
    this.#ctx = new RedisContext(redis, options.prefix ?? DEFAULT_PREFIX)
    this.#redis = redis
    this.#prefix = this.#ctx.prefix
    this.profiles = new RedisProfiles(this.#ctx)
    this.#eventRetention = options.eventRetention ?? DEFAULT_EVENT_RETENTION
    this.events = new RedisEvents(this.#ctx, this.#eventRetention)
    this.rates = new RedisRateWindows(this.#ctx)
    this.exports = new RedisExports(this.#ctx)
    this.lookups = new RedisLookups(this.#ctx)
    this.#jobRetention = options.jobRetention
    this.#journalSize = options.journalSize ?? 1000
    this.#faultLimit = options.faultLimit ?? FAULT_LIMIT
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS
    this.leases = {
      leaseMs,
      acquire: async (job, isNew = false) => await this.#ctx.guard(async () =>
        await this.#ctx.run(scripts.ACQUIRE_LEASE, this.#leaseKey(job), `${this.#prefix}active`, this.replicaId, leaseMs, `${enc(job.tenant)}\n${enc(job.jobId)}`, isNew ? 1 : 0) === 1),
      release: async (job) => { await this.#ctx.guard(async () => await this.#ctx.run(scripts.RELEASE_LEASE, this.#leaseKey(job), this.replicaId)) },
      activeJobs: async () => await this.#ctx.guard(async () => {
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
    return `${this.#ctx.t(job.tenant)}lease:${enc(job.jobId)}`
  }

  async createJob (job: JobRecord, rows: readonly JobRow[], options: CreateJobOptions = {}): Promise<CreateJobResult> {
    return await this.#ctx.guard(async () => {
      const admission = options.exclusive === true ? 'x' : options.maxWaiting ?? -1
      const active = await this.#ctx.run(scripts.CREATE_JOB, this.#prefix, enc(job.tenant), enc(job.jobId), admission,
        ...encJob(job), ...rows.map((row) => encRow(job.type, row))) as string | [string, string] | null
      if (active === null) return { created: true }
      return typeof active === 'string' ? { created: false, activeJobId: dec(active) } : { created: false, activeJobId: dec(active[0]), queueFull: true }
    })
  }

  async oldestActiveJob (tenant: string, lane: JobLane = 'bulk'): Promise<JobRecord | undefined> {
    return await this.#ctx.guard(async () => this.#job(await this.#ctx.run(scripts.OLDEST_ACTIVE, this.#prefix, enc(tenant), lane === 'import' ? 'import' : 'users')))
  }

  /** A job from a script's reply (nil, or the hash as a flat list) or from HGETALL (an object, empty when there is none). */
  #job (reply: unknown): JobRecord | undefined {
    const hash = reply as string[] | Record<string, string> | null
    return hash === null || Object.keys(hash).length === 0 ? undefined : decJob(hash)
  }

  async getJob (tenant: string, jobId: string): Promise<JobRecord | undefined> {
    return await this.#ctx.guard(async () => this.#job(await this.#redis.hgetall(`${this.#ctx.t(tenant)}job:${enc(jobId)}`)))
  }

  async listJobs (tenant: string, page: Page): Promise<JobRecord[]> {
    return await this.#ctx.guard(async () => {
      if (page.limit <= 0) return []
      const t = this.#ctx.t(tenant)
      const ids = await this.#redis.zrevrange(`${t}jobs`, page.offset, page.offset + page.limit - 1)
      const pipeline = this.#redis.pipeline()
      for (const id of ids) pipeline.hgetall(`${t}job:${id}`)
      const hashes = await this.#ctx.exec(pipeline)
      // A job dropped by retention between the two round trips is left out.
      return hashes.map((hash) => this.#job(hash)).filter((job): job is JobRecord => job !== undefined)
    })
  }

  async transitionJob (tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined> {
    return await this.#ctx.guard(async () => this.#job(await this.#ctx.run(scripts.TRANSITION_JOB, this.#prefix, enc(tenant), enc(jobId), from, to, at, isTerminal(to) ? 1 : 0, this.#jobRetention)))
  }

  async applyRows (tenant: string, jobId: string, count: number, at: number): Promise<JobRecord | undefined> {
    return await this.#ctx.guard(async () => this.#job(await this.#ctx.run(scripts.APPLY_ROWS, this.#prefix, enc(tenant), enc(jobId), count, at, this.#eventRetention)))
  }

  async setFailAt (tenant: string, jobId: string, stage: Stage): Promise<JobRecord | undefined> {
    return await this.#ctx.guard(async () => this.#job(await this.#ctx.run(scripts.SET_FAIL_AT, this.#prefix, enc(tenant), enc(jobId), JSON.stringify(stage))))
  }

  async listTenants (): Promise<string[]> {
    return await this.#ctx.guard(async () => (await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1')).map((tenant) => dec(tenant)))
  }

  async appendRequest (record: Omit<JournalRecord, 'id'>): Promise<void> {
    await this.#ctx.guard(async () => await this.#ctx.run(scripts.APPEND_REQUEST, this.#prefix, journalTag(record.tenant), JSON.stringify(record), this.#journalSize))
  }

  async listRequests (tenant: string | null, page: Page, filter: JournalFilter = {}): Promise<JournalRecord[]> {
    const tag = journalTag(tenant)
    return await this.#ctx.guard(async () => await this.#ctx.listNewestFirst(`${this.#prefix}journal`, page, (entry) => {
      const { tag: entryTag, record } = decJournal(entry)
      return { id: record.id, item: (tenant === null || entryTag === tag) && journalMatches(record, filter) ? record : undefined }
    }))
  }

  async addFaults (rules: readonly FaultRule[]): Promise<boolean> {
    return await this.#ctx.guard(async () => {
      const groups = new Map<string, string[]>()
      for (const rule of rules) {
        const tenant = enc(rule.tenant)
        const group = groups.get(tenant) ?? []
        group.push(encFault(rule))
        groups.set(tenant, group)
      }
      const args = [...groups].flatMap(([tenant, entries]) => [tenant, String(entries.length), ...entries])
      return await this.#ctx.run(scripts.ADD_FAULTS, this.#prefix, this.#faultLimit, ...args) === 1
    })
  }

  async listFaults (tenant: string | null): Promise<FaultRule[]> {
    return await this.#ctx.guard(async () => {
      const tenants = tenant === null ? await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1') : [enc(tenant)]
      const pipeline = this.#redis.pipeline()
      for (const each of tenants) pipeline.lrange(`${this.#prefix}t:${each}:faults`, 0, -1)
      const lists = await this.#ctx.exec(pipeline) as string[][]
      return lists.flat().map(decFaultEntry)
    })
  }

  async clearFaults (tenant: string | null): Promise<void> {
    await this.#ctx.guard(async () => {
      const tenants = tenant === null ? await this.#redis.zrange(`${this.#prefix}tenants`, '0', '-1') : [enc(tenant)]
      if (tenants.length > 0) await this.#redis.del(...tenants.map((each) => `${this.#prefix}t:${each}:faults`))
    })
  }

  async takeFault (tenant: string, method: string, path: string): Promise<FaultRule | undefined> {
    return await this.#ctx.guard(async () => {
      const taken = await this.#ctx.run(scripts.TAKE_FAULT, this.#prefix, enc(tenant), enc(method), enc(path)) as [string, string] | null
      return taken === null ? undefined : decFault(taken[1], taken[0])
    })
  }

  async reset (tenant: string | null): Promise<void> {
    await this.#ctx.guard(async () => {
      if (tenant === null) {
        // The journal's numbering goes on after a reset, as in memory.
        await this.#deleteMatching(`${globEscape(this.#prefix)}*`, new Set([`${this.#prefix}jseq`]))
        return
      }
      const encoded = enc(tenant)
      await this.#deleteMatching(`${globEscape(this.#ctx.t(tenant))}*`, new Set())
      const active = (await this.#redis.smembers(`${this.#prefix}active`)).filter((member) => member.startsWith(`${encoded}\n`))
      const multi = this.#redis.multi().zrem(`${this.#prefix}tenants`, encoded).srem(`${this.#prefix}deltenants`, encoded)
      if (active.length > 0) multi.srem(`${this.#prefix}active`, ...active)
      await this.#ctx.exec(multi)
      await this.#ctx.run(scripts.FORGET_REQUESTS, this.#prefix, journalTag(tenant))
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
