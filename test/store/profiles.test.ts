import t, { type Test } from 'tap'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { MockStore, ProfileStore, StoredUser, Touch } from '../../src/store/store.js'
import { compareDeletions } from '../../src/store/profile-store.js'
import { jobRecord, storeBackends, type StoreBackend } from '../helpers/store.js'

// The profile contract both backends keep: real-time identify, deletions.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const DUE = Date.parse('2025-05-20T02:00:00.000Z')
const A = 'tenant-a'
const B = 'tenant-b'
const ALL = { limit: 1000, offset: 0 }
const R1: Touch = { kind: 'request', id: 'req-1' }
const R2: Touch = { kind: 'request', id: 'req-2' }

let backend: StoreBackend

async function newStore (t: Test): Promise<MockStore> {
  return await backend.create(t)
}

function user (userId: string, fields: Partial<StoredUser> = {}): StoredUser {
  return { userId, companyId: null, metadata: {}, createdAt: T0, updatedAt: T0, lastTouch: R1, deletionScheduledAt: null, ...fields }
}

/** A record with plain objects for the null-prototype metadata (strictSame compares prototypes). */
function plain<T> (value: T): T {
  return JSON.parse(JSON.stringify(value)) as T
}

async function users (profiles: ProfileStore, tenant = A): Promise<StoredUser[]> {
  return await profiles.listUsers(tenant, ALL)
}

for (const each of storeBackends()) {
  t.test(each.name, { skip: each.skip }, async (t) => {
    backend = each

    t.test('identify creates a user and merges later calls; null removes; nested values are kept as sent', async (t) => {
      const { profiles } = await newStore(t)
      t.equal(await profiles.identify(A, { user: { user_id: 'u1', metadata: { plan: 'pro', seats: 3 } } }, R1, T0), null, 'no company')
      t.equal(await profiles.identify(A, { user: { user_id: 'u1', metadata: { seats: null, traits: { a: [1, 'x'] } } as never } }, R2, T0 + 5), null)
      t.strictSame(plain(await profiles.getUser(A, 'u1')), user('u1', { metadata: { plan: 'pro', traits: { a: [1, 'x'] } }, updatedAt: T0 + 5, lastTouch: R2 }))
      t.equal(await profiles.getUser(B, 'u1'), undefined, 'another tenant sees nothing')
    })

    t.test('identify with a company: the company first, then the user moves into it', async (t) => {
      const { profiles } = await newStore(t)
      t.equal(await profiles.identify(A, { user: { user_id: 'u1', company_id: 'c1' }, company: { company_id: 'c1', metadata: { name: 'Acme' } } }, R1, T0), 'c1')
      t.strictSame(plain(await profiles.getCompany(A, 'c1')), { companyId: 'c1', metadata: { name: 'Acme' }, createdAt: T0, updatedAt: T0, lastTouch: R1, deletionScheduledAt: null, userCount: 1 })
      t.equal(await profiles.identify(A, { user: { user_id: 'u1', company_id: 'c2' }, company: { company_id: 'c2' } }, R2, T0 + 1), 'c2', 'moved')
      t.equal((await profiles.getCompany(A, 'c1'))?.userCount, 0, 'left c1')
      t.equal((await profiles.getCompany(A, 'c2'))?.userCount, 1, 'joined c2')
      t.equal(await profiles.identify(A, { user: { user_id: 'u1' } }, R1, T0 + 2), 'c2', 'without a company the user stays where it is')
      t.equal(await profiles.identify(A, { company: { company_id: 'c3', metadata: { plan: 'x' } } }, R1, T0 + 3), 'c3', 'a company alone: its id')
      t.strictSame((await profiles.listCompanies(A, ALL)).map((company) => [company.companyId, company.userCount]), [['c1', 0], ['c2', 1], ['c3', 0]])
    })

    t.test('identify and bulk jobs write the same profiles; each records what touched it last', async (t) => {
      const store = await newStore(t)
      await store.profiles.identify(A, { user: { user_id: 'u1', metadata: { a: 1 } } }, R1, T0)
      await store.createJob(jobRecord(A, 'j1', T0 + 1, 1), [{ user_id: 'u1', metadata: { b: 2 } }])
      await store.applyRows(A, 'j1', 1, T0 + 1)
      t.strictSame(plain(await store.profiles.getUser(A, 'u1')), user('u1', { metadata: { a: 1, b: 2 }, updatedAt: T0 + 1, lastTouch: { kind: 'job', id: 'j1' } }))
      await store.profiles.identify(A, { user: { user_id: 'u1' } }, R2, T0 + 2)
      t.strictSame((await store.profiles.getUser(A, 'u1'))?.lastTouch, R2)
      t.strictSame(await store.listTenants(), [A], 'the tenant has state')
    })

    t.test('a request id that looks like a job id stays a request id, and the reverse', async (t) => {
      const { profiles } = await newStore(t)
      const touch: Touch = { kind: 'request', id: 'bulk:jobs:NX-1:"r"\n' }
      await profiles.identify(A, { company: { company_id: 'c1' } }, touch, T0)
      t.strictSame((await profiles.getCompany(A, 'c1'))?.lastTouch, touch)
      const job: Touch = { kind: 'job', id: 'r"x' }
      await profiles.identify(A, { user: { user_id: 'u1' } }, job, T0)
      t.strictSame((await profiles.getUser(A, 'u1'))?.lastTouch, job)
    })

    t.test('scheduleDeletions marks existing profiles only, counts them, keeps the sooner time', async (t) => {
      const { profiles } = await newStore(t)
      await profiles.identify(A, { user: { user_id: 'u1', company_id: 'c1' }, company: { company_id: 'c1' } }, R1, T0)
      await profiles.identify(A, { user: { user_id: 'u2' } }, R1, T0)
      t.equal(await profiles.scheduleDeletions(A, 'users', ['u1', 'u1', 'nobody', 'u2'], DUE), 2, 'duplicates once, unknown ids not marked')
      t.equal(await profiles.scheduleDeletions(A, 'users', ['u1'], DUE + 86_400_000), 1, 'marked again…')
      t.equal(await profiles.scheduleDeletions(A, 'companies', ['c1'], DUE + 86_400_000), 1)
      t.equal(await profiles.scheduleDeletions(A, 'companies', ['c1'], DUE), 1, '…a sooner time wins')
      t.equal(await profiles.scheduleDeletions(B, 'users', ['u1'], DUE), 0, 'another tenant has no u1')
      t.equal((await profiles.getUser(A, 'u1'))?.deletionScheduledAt, DUE, 'the earlier time is kept')
      t.equal((await profiles.getCompany(A, 'c1'))?.deletionScheduledAt, DUE)
      t.strictSame((await users(profiles)).map((each) => each.deletionScheduledAt), [DUE, DUE], 'lists show the mark')
      t.strictSame((await profiles.listCompanies(A, ALL))[0]?.deletionScheduledAt, DUE)
      t.strictSame(await profiles.listDeletions(A, ALL), [
        { kind: 'users', id: 'u1', dueAt: DUE },
        { kind: 'users', id: 'u2', dueAt: DUE },
        { kind: 'companies', id: 'c1', dueAt: DUE }
      ], 'soonest first, users before companies, then by id')
      t.strictSame(await profiles.listDeletions(A, { limit: 1, offset: 1 }), [{ kind: 'users', id: 'u2', dueAt: DUE }], 'paginated')
      t.strictSame(await profiles.listDeletions(A, { limit: 0, offset: 0 }), [])
      t.strictSame(await profiles.listDeletions(B, ALL), [])
      t.equal(await profiles.hasDeletions(), true)
    })

    t.test('runDeletions: only what is due; a deleted company leaves its users without one', async (t) => {
      const { profiles } = await newStore(t)
      await profiles.identify(A, { user: { user_id: 'u1', company_id: 'c1' }, company: { company_id: 'c1' } }, R1, T0)
      await profiles.identify(A, { user: { user_id: 'u2', company_id: 'c1' } }, R1, T0)
      await profiles.identify(A, { user: { user_id: 'u3', company_id: 'c2' }, company: { company_id: 'c2' } }, R1, T0)
      await profiles.identify(B, { user: { user_id: 'u1' } }, R1, T0)
      await profiles.identify(A, { company: { company_id: 'c9' } }, R1, T0)
      await profiles.scheduleDeletions(A, 'users', ['u3'], DUE)
      await profiles.scheduleDeletions(A, 'companies', ['c1', 'c9'], DUE + 1)
      await profiles.scheduleDeletions(B, 'users', ['u1'], DUE)
      t.strictSame(await profiles.runDeletions(A, DUE - 1), { users: 0, companies: 0 }, 'nothing due yet')
      t.strictSame(await profiles.runDeletions(A, DUE), { users: 1, companies: 0 }, 'u3 is due')
      t.equal(await profiles.getUser(A, 'u3'), undefined, 'u3 is gone')
      t.equal((await profiles.getCompany(A, 'c2'))?.userCount, 0, 'and left its company')
      t.ok(await profiles.getUser(B, 'u1'), 'the other tenant waits for its own run')
      t.strictSame(await profiles.runDeletions(null, DUE + 1), { users: 1, companies: 2 }, 'every tenant: B/u1, A/c1 and A/c9 (which had no users)')
      t.equal(await profiles.getCompany(A, 'c1'), undefined, 'c1 is gone')
      t.strictSame((await users(profiles)).map((each) => [each.userId, each.companyId]), [['u1', null], ['u2', null]], 'its users have no company')
      t.strictSame(await profiles.listUsers(A, ALL, { companyId: 'c1' }), [], 'and are not listed under it')
      t.strictSame(await profiles.listDeletions(A, ALL), [])
      t.equal(await profiles.hasDeletions(), false)
      t.strictSame(await profiles.runDeletions(null, Infinity), { users: 0, companies: 0 }, 'a second run deletes nothing')
      await profiles.identify(A, { user: { user_id: 'u1', company_id: 'c1' } }, R2, T0 + 9)
      t.equal((await profiles.getUser(A, 'u1'))?.companyId, 'c1', 'a user can name the deleted company again')
    })

    t.test('reset forgets profiles and pending deletions of one tenant, or all', async (t) => {
      const store = await newStore(t)
      for (const tenant of [A, B]) {
        await store.profiles.identify(tenant, { user: { user_id: 'u1' } }, R1, T0)
        await store.profiles.scheduleDeletions(tenant, 'users', ['u1'], DUE)
      }
      await store.reset(A)
      t.strictSame(await users(store.profiles, A), [])
      t.strictSame(await store.profiles.listDeletions(A, ALL), [])
      t.equal(await store.profiles.hasDeletions(), true, 'B still has one')
      t.strictSame(await store.profiles.runDeletions(null, DUE), { users: 1, companies: 0 })
      await store.profiles.identify(A, { user: { user_id: 'u1' } }, R1, T0)
      await store.reset(null)
      t.strictSame(await store.listTenants(), [])
      t.equal(await store.profiles.hasDeletions(), false)
    })

    t.test('metadataSizes: the properties each profile holds, 0 for none', async (t) => {
      const { profiles } = await newStore(t)
      await profiles.identify(A, { user: { user_id: 'u1', metadata: { a: 1, b: 'x', c: null } }, company: { company_id: 'c1', metadata: { n: { deep: 1 } } as never } }, R1, T0)
      t.strictSame(await profiles.metadataSizes(A, 'users', ['u1', 'nobody']), [2, 0])
      t.strictSame(await profiles.metadataSizes(A, 'companies', ['c1']), [1])
      t.strictSame(await profiles.metadataSizes(B, 'users', ['u1']), [0], 'an unknown tenant')
      t.strictSame(await profiles.metadataSizes(A, 'users', []), [])
    })

    t.test('largestMetadata: no profile of the kind holds more (memory: the largest seen; Redis: the cap, not tracked)', async (t) => {
      const { profiles } = await newStore(t)
      const bound = async (kind: 'users' | 'companies', tenant = A): Promise<number> => await profiles.largestMetadata(tenant, kind)
      if (each.name !== 'memory') {
        t.equal(await bound('users'), MAX_METADATA_KEYS)
        return
      }
      t.equal(await bound('users'), 0, 'an unknown tenant')
      await profiles.identify(A, { user: { user_id: 'u1', metadata: { a: 1, b: 2, c: 3 } }, company: { company_id: 'c1', metadata: { x: 1 } } }, R1, T0)
      await profiles.identify(A, { user: { user_id: 'u2', metadata: { a: 1 } } }, R1, T0)
      t.equal(await bound('users'), 3)
      t.equal(await bound('companies'), 1)
      await profiles.identify(A, { user: { user_id: 'u1', metadata: { a: null, b: 'same count' } } }, R1, T0)
      t.equal(await bound('users'), 3, 'an upper bound: removals do not lower it')
      await profiles.identify(A, { user: { user_id: 'u2', metadata: { b: 1, c: 1, d: 1 } } }, R1, T0)
      t.equal(await bound('users'), 4, 'grows with the largest profile')
      t.equal(await bound('users', B), 0, 'per tenant')
    })

    t.test('a profile never holds more than 1000 properties: new keys beyond are not added; updates and removals are', async (t) => {
      const store = await newStore(t)
      const many = (prefix: string, count: number): Record<string, string> => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, 'v']))
      await store.profiles.identify(A, { user: { user_id: 'u1', metadata: many('a', 990) } }, R1, T0)
      await store.profiles.identify(A, { user: { user_id: 'u1', metadata: { a1: null, a0: 'changed', ...many('b', 20) } } }, R1, T0)
      const user = await store.profiles.getUser(A, 'u1') as StoredUser
      t.equal(Object.keys(user.metadata).length, 1000)
      t.equal(user.metadata.a0, 'changed', 'a known key is updated')
      t.notOk('a1' in user.metadata, 'a removal frees a place…')
      t.ok('b10' in user.metadata, '…which a new key takes')
      t.notOk('b11' in user.metadata, 'the next new key is not added')
      await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1', metadata: { c0: 'v', a2: null, c1: 'v' } }])
      await store.applyRows(A, 'j1', 1, T0)
      const after = (await store.profiles.getUser(A, 'u1') as StoredUser).metadata
      t.strictSame([Object.keys(after).length, 'c0' in after, 'c1' in after], [1000, false, true], 'bulk rows likewise, key by key in order')
    })

    t.test('results are detached copies, nested values too', async (t) => {
      const { profiles } = await newStore(t)
      const sent = { nested: { a: 1 } }
      await profiles.identify(A, { user: { user_id: 'u1', metadata: sent as never } }, R1, T0)
      sent.nested.a = 2
      const got = await profiles.getUser(A, 'u1') as StoredUser
      t.strictSame(plain(got.metadata), { nested: { a: 1 } }, 'what was sent is copied in')
      ;(got.metadata.nested as { a: number }).a = 3
      t.strictSame(plain((await profiles.getUser(A, 'u1'))?.metadata), { nested: { a: 1 } }, 'what is handed out is a copy')
    })
  })
}

t.test('compareDeletions: due time, then users before companies, then ids in code-unit order', async (t) => {
  const at = (kind: 'users' | 'companies', id: string, dueAt = DUE): { kind: 'users' | 'companies', id: string, dueAt: number } => ({ kind, id, dueAt })
  t.ok(compareDeletions(at('companies', 'a', DUE - 1), at('users', 'a')) < 0)
  t.ok(compareDeletions(at('users', 'z'), at('companies', 'a')) < 0)
  t.ok(compareDeletions(at('companies', 'a'), at('users', 'z')) > 0)
  t.equal(compareDeletions(at('users', 'u1'), at('users', 'ü')), -1, 'u (0x75) before ü (0xfc), whatever the locale says')
  t.equal(compareDeletions(at('users', 'ü'), at('users', 'u1')), 1)
})
