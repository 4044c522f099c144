import type { JobType } from '../../schemas/jobs.js'
import type { Test } from 'tap'
import { connectRedis } from '../../src/store/redis-connect.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import { RedisStore, type RedisStoreOptions } from '../../src/store/redis-store.js'
import type { JobRecord, MockStore } from '../../src/store/store.js'
import { redisSkipReason, sharedRedisUrl, testPrefix } from './redis.js'
import { testApp, type TestApp } from './app.js'
import type { Config } from '../../src/config.js'

/** A queued job as the runner would create it, for store tests. */
export function jobRecord (tenant: string, jobId: string, at: number, totalRows: number, type: JobType = 'users', fileSize = 100): JobRecord {
  return {
    jobId,
    tenant,
    type,
    status: 'queued',
    totalRows,
    completedRows: 0,
    fileSize,
    filename: `${jobId}.json`,
    submittedAt: at,
    endTime: null,
    history: [{ status: 'queued', at }]
  }
}

/** Options every backend takes (as MemoryStoreOptions). */
export interface StoreOptions { jobRetention: number, journalSize?: number, faultLimit?: number, eventRetention?: number }

/** A store backend the store tests run against. */
export interface StoreBackend {
  name: 'memory' | 'redis'
  /** Why this backend cannot run here (tap's `skip`), or false. */
  skip: string | false
  /** A fresh, empty store of this backend, closed (and for Redis, emptied) when the test ends. */
  create(t: Test, options?: Partial<StoreOptions>): Promise<MockStore>
}

/**
 * The backends the store contract is checked against: the tests run once
 * per backend (`for (const backend of storeBackends()) t.test(backend.name, …)`),
 * so the Redis store is held to exactly the memory store's semantics.
 */
export function storeBackends (): StoreBackend[] {
  return [
    {
      name: 'memory',
      skip: false,
      create: async (t, options = {}) => {
        const store = new MemoryStore({ jobRetention: 1000, ...options })
        t.teardown(() => store.close())
        return store
      }
    },
    {
      name: 'redis',
      skip: redisSkipReason(),
      create: async (t, options = {}) => {
        const store = await redisStore(await sharedRedisUrl(), { jobRetention: 1000, ...options })
        t.teardown(async () => {
          await store.reset(null)
          await store.redis.del(`${store.prefix}jseq`)
          await store.close()
        })
        return store
      }
    }
  ]
}

/** A Redis store on `url` under its own random prefix (unless given). */
export async function redisStore (url: string, options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
  return new RedisStore(await connectRedis(url), { jobRetention: 1000, prefix: testPrefix(), ...options })
}

/** The whole app on one backend. */
export interface AppBackend {
  name: 'memory' | 'redis'
  skip: string | false
  /** A fresh app (see testApp) on this backend's store, emptied when the test ends. */
  app(t: Test, config?: Partial<Config>): Promise<TestApp>
}

/**
 * The backends route tests run against (`for (const backend of appBackends())
 * t.test(backend.name, { skip: backend.skip }, …)`): the memory default, and
 * Redis under its own prefix, so a route behaves the same on both.
 */
export function appBackends (): AppBackend[] {
  return [
    { name: 'memory', skip: false, app: async (t, config = {}) => await testApp(t, config) },
    {
      name: 'redis',
      skip: redisSkipReason(),
      app: async (t, config = {}) => {
        const store = await redisStore(await sharedRedisUrl())
        const made = await testApp(t, config, { store })
        // Leaves nothing in the shared Redis (before the app closes the store).
        t.teardown(async () => {
          await store.reset(null)
          await store.redis.del(`${store.prefix}jseq`, `${store.prefix}xsecret`)
        })
        return made
      }
    }
  ]
}
