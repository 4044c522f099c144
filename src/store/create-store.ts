import type { Config } from '../config.js'
import { MemoryStore } from './memory-store.js'
import type { MockStore } from './store.js'

/** The state backend MOCK_STORE names: in this process (`memory`), or shared in Redis. */
export async function createStore (config: Config): Promise<MockStore> {
  const options = { jobRetention: config.MOCK_JOB_RETENTION, journalSize: config.MOCK_JOURNAL_SIZE, eventRetention: config.MOCK_EVENT_RETENTION }
  if (config.MOCK_STORE === 'memory') return new MemoryStore(options)
  // Loaded only for Redis: ioredis and the scripts cost start-up time the default never needs.
  const { connectRedis, parseStoreUrl, RedisStore } = await import('./redis-connect.js')
  const { url, prefix } = parseStoreUrl(config.MOCK_STORE)
  return new RedisStore(await connectRedis(url), { ...options, prefix })
}
