import t from 'tap'
import { Redis } from 'ioredis'
import { connectRedis } from '../../src/store/redis-connect.js'
import { DEFAULT_LEASE_MS, RedisStore, storeError } from '../../src/store/redis-store.js'
import { enc, globEscape } from '../../src/store/redis-codec.js'
import { StoreUnavailableError } from '../../src/store/store-unavailable.js'
import type { FaultRule, JobRow, JournalRecord, MockStore } from '../../src/store/store.js'
import { jobRecord, redisStore } from '../helpers/store.js'
import { ownServerSkipReason, redisSkipReason, sharedRedisUrl, startRedisServer, testPrefix } from '../helpers/redis.js'

// What the parameterized store tests cannot say: what only a networked,
// shared, persistent backend has — restarts, prefixes, encodings that must
// survive Lua byte for byte, outages and leases.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const ALL = { limit: 1000, offset: 0 }

async function identify (store: MockStore, tenant: string, jobId: string, rows: JobRow[], type: 'users' | 'companies' = 'users'): Promise<void> {
  await store.createJob(jobRecord(tenant, jobId, T0, rows.length, type), rows)
  await store.applyRows(tenant, jobId, rows.length, T0)
}

function request (tenant: string | null, path: string): Omit<JournalRecord, 'id'> {
  return { time: T0, tenant, requestId: 'r', method: 'GET', path, status: 200, durationMs: 1, headers: {}, body: null, bodyBytes: 0, bodyTruncated: false, warnings: [] }
}

function fault (tenant: string, id: string, extra: Partial<FaultRule> = {}): FaultRule {
  return { id, tenant, method: null, path: null, timesLeft: 1, status: 503, delayMs: 0, body: undefined, headers: {}, dropConnection: false, ...extra }
}

t.test('on a shared Redis', { skip: redisSkipReason() }, async (t) => {
  const url = await sharedRedisUrl()

  async function fresh (prefix = testPrefix(), options = {}): Promise<RedisStore> {
    const store = await redisStore(url, { prefix, ...options })
    t.teardown(async () => {
      // Leaves nothing behind in a shared Redis (a store closed by its test already has its state cleared).
      if (store.redis.status === 'ready') {
        await store.reset(null)
        await store.redis.del(`${prefix}jseq`)
      }
      await store.close()
    })
    return store
  }

  t.test('state outlives the store: a new store on the same prefix sees it all', async (t) => {
    const prefix = testPrefix()
    const first = await fresh(prefix)
    await identify(first, A, 'j1', [{ user_id: 'u1', company_id: 'c1', metadata: { plan: 'pro' } }])
    await first.addFaults([fault(A, 'f1')])
    await first.appendRequest(request(A, '/x'))
    await first.close()
    await first.close()
    t.equal(first.redis.status, 'end', 'closed, and closing again is harmless')
    const second = await fresh(prefix)
    t.same((await second.profiles.getUser(A, 'u1'))?.metadata, { plan: 'pro' })
    t.equal((await second.getJob(A, 'j1'))?.completedRows, 1)
    t.same((await second.listFaults(A)).map((rule) => rule.id), ['f1'])
    t.same((await second.listRequests(A, ALL)).map((entry) => entry.path), ['/x'])
    await second.reset(null)
    await second.redis.del(`${prefix}jseq`)
  })

  t.test('prefixes isolate stores on one Redis; reset(null) deletes only its own keys', async (t) => {
    const one = await fresh()
    const two = await fresh()
    await identify(one, A, 'j1', [{ user_id: 'u1' }])
    await identify(two, A, 'j1', [{ user_id: 'u2' }])
    t.same((await one.profiles.listUsers(A, ALL)).map((user) => user.userId), ['u1'])
    await one.reset(null)
    t.same(await one.profiles.listUsers(A, ALL), [])
    t.same((await two.profiles.listUsers(A, ALL)).map((user) => user.userId), ['u2'], 'the other prefix is untouched')
    t.same(await one.redis.keys(`${globEscape(one.prefix)}*`), [`${one.prefix}tseq`].filter(() => false), 'nothing left of the first store')
    await two.reset(null)
  })

  t.test('one client can carry two stores (scripts are defined once)', async (t) => {
    const one = await fresh()
    const two = new RedisStore(one.redis, { jobRetention: 10, prefix: testPrefix() })
    await identify(two, A, 'j1', [{ user_id: 'u1' }])
    t.ok(await two.profiles.getUser(A, 'u1'))
    t.equal(await one.profiles.getUser(A, 'u1'), undefined)
    await two.reset(null)
  })

  t.test('values survive Lua byte for byte', async (t) => {
    const store = await fresh()
    const odd = ['line\nbreak', 'tab\there', 'quote"back\\slash', 'é€😀', 'lone \ud800 surrogate', '', 'null', '*?[]', '\u2028\u0000']
    const metadata: Record<string, string | number | boolean> = {}
    odd.forEach((value, i) => { metadata[`k${i}`] = value })
    Object.assign(metadata, { tiny: 0.1 + 0.2, big: 2 ** 53 - 1, exp: 1.5e300, negative: -42.125, yes: true, no: false })
    const rows: JobRow[] = odd.filter((id) => id !== '').map((id) => ({ user_id: id, company_id: `c-${id}`, metadata: { [id === 'null' ? 'key' : id]: id } }))
    rows.push({ user_id: 'all', metadata })
    const tenant = 'tenant:"*weird*"\n'
    await identify(store, tenant, 'job:"1"\n', rows)
    for (const id of odd.filter((each) => each !== '')) {
      const user = await store.profiles.getUser(tenant, id)
      t.equal(user?.userId, id, enc(id))
      t.equal(user?.companyId, `c-${id}`)
      t.equal(user?.lastTouch.id, 'job:"1"\n')
      t.equal((await store.profiles.getCompany(tenant, `c-${id}`)), undefined, 'users create no company record')
    }
    t.same({ ...(await store.profiles.getUser(tenant, 'all'))?.metadata }, metadata, 'every value exactly, numbers at full precision')
    t.same(await store.listTenants(), [tenant])
    await store.reset(tenant)
    t.same(await store.listTenants(), [])
  })

  t.test('a job record is stored as given: a stage to fail at, an end time', async (t) => {
    const store = await fresh()
    const job = { ...jobRecord(A, 'j1', T0, 1), failAt: 'processing' as const, endTime: T0 + 5 }
    await store.createJob(job, [{ user_id: 'u' }])
    t.strictSame(await store.getJob(A, 'j1'), job)
  })

  t.test('reset of a tenant whose name is a glob pattern deletes only that tenant', async (t) => {
    const store = await fresh()
    await identify(store, '*', 'j', [{ user_id: 'u' }])
    await identify(store, 'a', 'j', [{ user_id: 'u' }])
    await identify(store, '[a]', 'j', [{ user_id: 'u' }])
    await store.reset('*')
    t.same(await store.listTenants(), ['a', '[a]'])
    t.ok(await store.profiles.getUser('a', 'u'))
    await store.reset('[a]')
    t.ok(await store.profiles.getUser('a', 'u'), 'a pattern matching another tenant deletes nothing of it')
    t.same(await store.listTenants(), ['a'])
  })

  t.test('metadata key order follows the memory store: a removed key that comes back goes last', async (t) => {
    const store = await fresh()
    await identify(store, A, 'j1', [{ user_id: 'u', metadata: { a: 1, b: 2, c: 3, 10: 'ten', 2: 'two' } }])
    await identify(store, A, 'j2', [{ user_id: 'u', metadata: { a: null, b: 'B' } }, { user_id: 'u', metadata: { a: 'again' } }])
    t.same(Object.keys((await store.profiles.getUser(A, 'u'))?.metadata ?? {}), ['2', '10', 'b', 'c', 'a'])
    await identify(store, A, 'c1', [{ company_id: 'c', metadata: { x: 1, y: 2 } }, { company_id: 'c', metadata: { x: null } }, { company_id: 'c', metadata: { x: 3 } }], 'companies')
    t.same(Object.entries((await store.profiles.getCompany(A, 'c'))?.metadata ?? {}), [['y', 2], ['x', 3]])
  })

  t.test('the journal pages through batches, skipping entries a concurrent append shifted', async (t) => {
    const store = await fresh()
    for (let i = 1; i <= 450; i++) await store.appendRequest(request(i % 3 === 0 ? A : null, `/${i}`))
    const mine = await store.listRequests(A, { limit: 1000, offset: 0 })
    t.equal(mine.length, 150)
    t.same(mine.slice(0, 2).map((entry) => entry.path), ['/450', '/447'])
    t.same((await store.listRequests(A, { limit: 2, offset: 140 })).map((entry) => entry.path), ['/30', '/27'], 'an offset reaching into later batches')
    const reading = store.listRequests(null, { limit: 1000, offset: 0 })
    await store.appendRequest(request(A, '/late'))
    const all = await reading
    const ids = all.map((entry) => entry.id)
    t.same(ids, [...new Set(ids)], 'no entry twice')
    t.ok(ids.every((id, i) => i === 0 || id < (ids[i - 1] as number)), 'newest first')
  })

  t.test('a fault with a body and headers, and uses that never reach 0, as in memory', async (t) => {
    const store = await fresh()
    await store.addFaults([fault(A, 'f', { body: { errors: [] }, headers: { 'retry-after': '5' }, timesLeft: 2, path: '/v1/é*' })])
    t.same(await store.takeFault(A, 'GET', '/v1/éx'), fault(A, 'f', { body: { errors: [] }, headers: { 'retry-after': '5' }, timesLeft: 1, path: '/v1/é*' }))
    t.equal(await store.takeFault(A, 'GET', '/v1/x'), undefined)
    t.same(await store.addFaults([]), true, 'an empty batch')
  })

  t.test('rows missing behind the store\'s back are left out of lists', async (t) => {
    const store = await fresh()
    await identify(store, A, 'j1', [{ user_id: 'u1', company_id: 'c' }, { user_id: 'u2', company_id: 'c' }])
    await identify(store, A, 'j2', [{ company_id: 'c' }, { company_id: 'd' }], 'companies')
    const t0 = `${store.prefix}t:${enc(A)}:`
    await store.redis.hdel(`${t0}users`, enc('u1'))
    await store.redis.hdel(`${t0}companies`, enc('c'))
    t.same((await store.profiles.listUsers(A, ALL)).map((user) => user.userId), ['u2'])
    t.same((await store.profiles.listCompanies(A, ALL)).map((company) => company.companyId), ['d'])
  })

  t.test('Redis reply errors are bugs, not outages: they pass through as they are', async (t) => {
    const store = await fresh()
    await identify(store, A, 'j1', [{ user_id: 'u1' }])
    await store.redis.set(`${store.prefix}t:${enc(A)}:job:${enc('j1')}`, 'not a hash')
    await t.rejects(store.listJobs(A, ALL), /WRONGTYPE/)
    await t.rejects(store.profiles.getUser(A, 'u1').then(async () => await store.redis.set(`${store.prefix}t:${enc(A)}:users`, 'x')).then(async () => await store.profiles.getUser(A, 'u1')), /WRONGTYPE/)
    const bug = new TypeError('a bug')
    t.equal(storeError(bug), bug, 'other errors stay too')
    t.type(storeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })), StoreUnavailableError)
    t.match(storeError(new Error('Connection is closed.')), { name: 'StoreUnavailableError', reason: 'Connection is closed.' })
  })

  t.test('leases: one owner at a time, renewed by it, released only by it', async (t) => {
    const prefix = testPrefix()
    const one = await fresh(prefix, { leaseMs: 60_000 })
    const two = await fresh(prefix)
    t.equal(two.leases.leaseMs, DEFAULT_LEASE_MS)
    t.not(one.replicaId, two.replicaId)
    t.match(one.replicaId, `:${process.pid}:`, 'names its process')
    await one.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u' }])
    await one.createJob(jobRecord('tenant:b', 'j:2', T0, 1), [{ user_id: 'u' }])
    t.same((await two.leases.activeJobs()).sort((x, y) => x.tenant.localeCompare(y.tenant)), [{ tenant: A, jobId: 'j1' }, { tenant: 'tenant:b', jobId: 'j:2' }])
    const job = { tenant: A, jobId: 'j1' }
    t.equal(await one.leases.acquire(job), true)
    t.equal(await two.leases.acquire(job), false, 'held by the other')
    t.equal(await one.leases.acquire(job), true, 'renewed by its owner')
    await two.leases.release(job)
    t.equal(await two.leases.acquire(job), false, 'a release by another replica does nothing')
    await one.leases.release(job)
    t.equal(await two.leases.acquire(job), true, 'free after its owner released it')
    await two.transitionJob(A, 'j1', 'queued', 'failed', T0)
    t.same(await two.leases.activeJobs(), [{ tenant: 'tenant:b', jobId: 'j:2' }], 'an ended job is not active')
    t.same(await one.redis.keys(`${prefix}t:*:lease:*`), [], 'the end of a job drops its lease')
    t.equal(await one.leases.acquire(job), false, 'and an ended job takes none again (a sweep that read it as active just before)')
    t.same(await one.redis.keys(`${prefix}t:*:lease:*`), [])
    const unborn = { tenant: A, jobId: 'j3' }
    t.equal(await one.leases.acquire(unborn), false, 'a job that does not exist takes no lease…')
    t.equal(await one.leases.acquire(unborn, true), true, '…unless it is about to be created')
    await one.leases.release(unborn)
    await one.reset('tenant:b')
    t.same(await two.leases.activeJobs(), [], 'reset forgets active jobs')
    await one.reset(null)
  })
})

t.test('with Redis down', { skip: ownServerSkipReason() }, async (t) => {
  const server = await startRedisServer(t)
  const store = new RedisStore(await connectRedis(server.url), { jobRetention: 10, prefix: testPrefix() })
  t.teardown(() => store.close())
  await identify(store, A, 'j1', [{ user_id: 'u1' }])
  await server.stop()
  const failure = await store.profiles.getUser(A, 'u1').catch((error: unknown) => error)
  t.type(failure, StoreUnavailableError, 'a command fails at once with StoreUnavailableError')
  await t.rejects(store.leases.acquire({ tenant: A, jobId: 'j1' }), StoreUnavailableError)
  await t.rejects(store.listRequests(null, ALL), StoreUnavailableError)
  await server.start()
  const deadline = Date.now() + 10_000
  while (store.redis.status !== 'ready' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(store.redis.status, 'ready', 'reconnected by itself')
  t.equal(await store.profiles.getUser(A, 'u1'), undefined, 'answers again (this Redis kept nothing)')
  await server.stop()
  const away = Date.now() + 10_000
  while (store.redis.status !== 'reconnecting' && Date.now() < away) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(store.redis.status, 'reconnecting', 'waiting to reconnect')
  await store.close()
  t.equal(store.redis.status, 'reconnecting', 'close returns between two attempts, with the next one cancelled')
  t.equal(await store.redis.ping().catch(() => 'refused'), 'refused', 'the client takes no more commands')
})

t.test('a Redis client that never connected closes too', { skip: redisSkipReason() }, async (t) => {
  const redis = new Redis(await sharedRedisUrl(), { lazyConnect: true })
  const store = new RedisStore(redis, { jobRetention: 1 })
  await store.close()
  t.equal(redis.status, 'end', 'disconnected')
})
