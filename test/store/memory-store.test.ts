import t, { type Test } from 'tap'
import { MemoryStore } from '../../src/store/memory-store.js'
import { jobRecord, storeBackends, type StoreBackend } from '../helpers/store.js'
import type { JobRecord, JobRow, MockStore, StoredUser } from '../../src/store/store.js'
import type { JobStatus } from '../../schemas/jobs.js'

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const B = 'tenant-b'

let backend: StoreBackend

async function newStore (t: Test, jobRetention = 1000): Promise<MockStore> {
  return await backend.create(t, { jobRetention })
}

/** Rows parsed from JSON, as a request body would be, so that `__proto__` is an own key. */
function rowsFromJson (json: string): JobRow[] {
  return JSON.parse(json) as JobRow[]
}

/** Creates a job with `rows` and applies them all at `at`; returns the job record after. */
async function identify (store: MockStore, tenant: string, jobId: string, rows: JobRow[], at: number): Promise<JobRecord> {
  await store.createJob(jobRecord(tenant, jobId, at, rows.length), rows)
  return await store.applyRows(tenant, jobId, rows.length, at) as JobRecord
}

/** Moves a job along `path` one compare-and-set at a time. */
async function walk (store: MockStore, tenant: string, jobId: string, path: JobStatus[], at: number): Promise<JobRecord | undefined> {
  let job: JobRecord | undefined
  for (let i = 1; i < path.length; i++) {
    job = await store.transitionJob(tenant, jobId, path[i - 1] as JobStatus, path[i] as JobStatus, at)
  }
  return job
}

const TO_COMPLETED: JobStatus[] = ['queued', 'validating', 'processing', 'pending_refresh', 'completed']

function assertPrototypeClean (t: Test): void {
  const probe = {} as Record<string, unknown>
  t.equal(probe.polluted, undefined, '({}).polluted is undefined')
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
  t.equal(probe.constructor, Object, '({}).constructor is Object')
  t.equal(Object.getPrototypeOf(probe), Object.prototype)
  t.equal(typeof Object.prototype.toString, 'function')
}

for (const each of storeBackends()) {
  t.test(each.name, { skip: each.skip }, async (t) => {
    backend = each
    t.test('jobs', async (t) => {
      t.test('createJob then getJob returns the record', async (t) => {
        const store = await newStore(t)
        const job = jobRecord(A, 'j1', T0, 3)
        await store.createJob(job, [{ user_id: 'u0' }, { user_id: 'u1' }, { user_id: 'u2' }])
        t.strictSame(await store.getJob(A, 'j1'), job)
        t.equal(await store.getJob(A, 'nope'), undefined, 'unknown job')
        t.equal(await store.getJob('nobody', 'j1'), undefined, 'unknown tenant')
      })

      t.test('createJob keeps its own copy of the record', async (t) => {
        const store = await newStore(t)
        const job = jobRecord(A, 'j1', T0, 1)
        await store.createJob(job, [{ user_id: 'u0' }])
        job.status = 'failed'
        job.history.push({ status: 'failed', at: T0 + 1 })
        ;(job.history[0] as { at: number }).at = 0
        const stored = await store.getJob(A, 'j1')
        t.equal(stored?.status, 'queued')
        t.same(stored?.history, [{ status: 'queued', at: T0 }])
      })

      t.test('getJob, listJobs, transitionJob and applyRows return detached copies', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1', T0, 2), [{ user_id: 'u0' }, { user_id: 'u1' }])
        const fromGet = await store.getJob(A, 'j1') as JobRecord
        fromGet.status = 'failed'
        fromGet.completedRows = 99
        fromGet.history.push({ status: 'failed', at: 1 })
        const [fromList] = await store.listJobs(A, { limit: 10, offset: 0 })
        ;(fromList as JobRecord).history[0] = { status: 'completed', at: 2 }
        // A returned entry may be shared with the store's own (memory): then it is frozen.
        try { ((fromGet.history[0]) as { at: number }).at = 3 } catch (error) { t.type(error, TypeError) }
        const moved = await store.transitionJob(A, 'j1', 'queued', 'validating', T0 + 1) as JobRecord
        moved.status = 'completed'
        moved.history.length = 0
        const applied = await store.applyRows(A, 'j1', 1, T0 + 2) as JobRecord
        applied.completedRows = 0
        t.same(await store.getJob(A, 'j1'), {
          ...jobRecord(A, 'j1', T0, 2),
          status: 'validating',
          completedRows: 1,
          history: [{ status: 'queued', at: T0 }, { status: 'validating', at: T0 + 1 }]
        })
      })

      t.test('listJobs: newest first, with limit and offset', async (t) => {
        const store = await newStore(t)
        for (let i = 0; i < 5; i++) await store.createJob(jobRecord(A, `j${i}`, T0 + i, 1), [{ user_id: 'u' }])
        const ids = async (limit: number, offset: number): Promise<string[]> =>
          (await store.listJobs(A, { limit, offset })).map((job) => job.jobId)
        t.same(await ids(50, 0), ['j4', 'j3', 'j2', 'j1', 'j0'])
        t.same(await ids(2, 0), ['j4', 'j3'])
        t.same(await ids(2, 1), ['j3', 'j2'])
        t.same(await ids(2, 4), ['j0'])
        t.same(await ids(2, 5), [])
        t.same(await ids(0, 0), [])
        t.same(await store.listJobs('nobody', { limit: 10, offset: 0 }), [], 'unknown tenant')
        // A job that moves on keeps its place: order is by submission.
        await walk(store, A, 'j0', TO_COMPLETED, T0 + 100)
        t.same(await ids(50, 0), ['j4', 'j3', 'j2', 'j1', 'j0'])
      })

      t.test('transitionJob is a compare-and-set', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u0' }])
        const moved = await store.transitionJob(A, 'j1', 'queued', 'validating', T0 + 200)
        t.equal(moved?.status, 'validating')
        t.same(moved?.history, [{ status: 'queued', at: T0 }, { status: 'validating', at: T0 + 200 }])
        t.equal(moved?.endTime, null, 'not terminal: no end time')

        t.equal(await store.transitionJob(A, 'j1', 'queued', 'validating', T0 + 300), undefined, 'from a status it has left')
        t.equal(await store.transitionJob(A, 'j1', 'processing', 'pending_refresh', T0 + 300), undefined, 'from a status it never had')
        t.equal(await store.transitionJob(A, 'nope', 'queued', 'validating', T0), undefined, 'unknown job')
        t.equal(await store.transitionJob(B, 'j1', 'validating', 'processing', T0), undefined, 'another tenant')
        t.equal(await store.transitionJob('nobody', 'j1', 'validating', 'processing', T0), undefined, 'unknown tenant')

        const after = await store.getJob(A, 'j1')
        t.equal(after?.status, 'validating', 'failed attempts change nothing')
        t.equal(after?.history.length, 2)
      })

      t.test('two movers from the same status: only the first wins', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u0' }])
        const [first, second] = await Promise.all([
          store.transitionJob(A, 'j1', 'queued', 'validating', T0 + 1),
          store.transitionJob(A, 'j1', 'queued', 'failed', T0 + 1)
        ])
        t.equal(first?.status, 'validating')
        t.equal(second, undefined)
      })

      t.test('a terminal status sets endTime and drops the rows not applied', async (t) => {
        for (const terminal of ['completed', 'failed'] as const) {
          t.test(terminal, async (t) => {
            const store = await newStore(t)
            await store.createJob(jobRecord(A, 'j1', T0, 3), [{ user_id: 'u0' }, { user_id: 'u1' }, { user_id: 'u2' }])
            await walk(store, A, 'j1', ['queued', 'validating', 'processing'], T0 + 100)
            t.equal((await store.applyRows(A, 'j1', 1, T0 + 150))?.completedRows, 1)
            const ended = await store.transitionJob(A, 'j1', 'processing', terminal, T0 + 500)
            t.equal(ended?.status, terminal)
            t.equal(ended?.endTime, T0 + 500)
            t.same(ended?.history.at(-1), { status: terminal, at: T0 + 500 })
            t.equal(await store.applyRows(A, 'j1', 10, T0 + 600), undefined, 'no rows left to apply')
            t.equal((await store.getJob(A, 'j1'))?.completedRows, 1, 'completedRows stays')
            t.same((await store.profiles.listUsers(A, { limit: 10, offset: 0 })).map((user) => user.userId), ['u0'], 'unapplied rows never land')
          })
        }
      })

      t.test('applyRows applies in order, in chunks, and stops at the total', async (t) => {
        const store = await newStore(t)
        const rows = Array.from({ length: 5 }, (_, i) => ({ user_id: `u${i}`, metadata: { n: i } }))
        await store.createJob(jobRecord(A, 'j1', T0, 5), rows)
        t.equal((await store.applyRows(A, 'j1', 0, T0))?.completedRows, 0, 'count 0 applies nothing')
        t.same(await store.profiles.listUsers(A, { limit: 10, offset: 0 }), [])
        t.equal((await store.applyRows(A, 'j1', 2, T0 + 10))?.completedRows, 2)
        t.same((await store.profiles.listUsers(A, { limit: 10, offset: 0 })).map((user) => user.userId), ['u0', 'u1'])
        t.equal((await store.applyRows(A, 'j1', 2, T0 + 20))?.completedRows, 4)
        t.equal((await store.applyRows(A, 'j1', 10, T0 + 30))?.completedRows, 5, 'capped at the rows there are')
        t.equal((await store.applyRows(A, 'j1', 1, T0 + 40))?.completedRows, 5, 'nothing more after the end')
        const users = await store.profiles.listUsers(A, { limit: 10, offset: 0 })
        t.same(users.map((user) => user.userId), ['u0', 'u1', 'u2', 'u3', 'u4'])
        t.same(users.map((user) => user.updatedAt), [T0 + 10, T0 + 10, T0 + 20, T0 + 20, T0 + 30], 'each chunk at its own time')
        t.same(users.map((user) => user.metadata.n), [0, 1, 2, 3, 4])
        t.equal(await store.applyRows(A, 'nope', 1, T0), undefined, 'unknown job')
        t.equal(await store.applyRows(B, 'j1', 1, T0), undefined, 'another tenant')
      })

      t.test('job retention', async (t) => {
        t.test('keeps only the most recently ended terminal jobs', async (t) => {
          const store = await newStore(t, 2)
          for (const id of ['a', 'b', 'c', 'd', 'e']) await store.createJob(jobRecord(A, id, T0, 1), [{ user_id: id }])
          // End order differs from submission order: b, a, d; c and e keep running.
          await walk(store, A, 'b', TO_COMPLETED, T0 + 1)
          await walk(store, A, 'a', ['queued', 'failed'], T0 + 2)
          t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['e', 'd', 'c', 'b', 'a'], 'two ended: both kept')
          await walk(store, A, 'd', TO_COMPLETED, T0 + 3)
          t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['e', 'd', 'c', 'a'], 'the first to end (b) is forgotten')
          t.equal(await store.getJob(A, 'b'), undefined)
          await walk(store, A, 'c', ['queued', 'validating'], T0 + 4)
          t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['e', 'd', 'c', 'a'], 'non-terminal moves drop nothing')
          await walk(store, A, 'c', ['validating', 'failed'], T0 + 5)
          t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['e', 'd', 'c'], 'then a is forgotten')
          t.equal((await store.getJob(A, 'e'))?.status, 'queued', 'a job that has not ended is never dropped')
          t.ok(await store.profiles.getUser(A, 'b') === undefined, 'b never applied its row')
        })

        t.test('0 forgets a job as soon as it ends', async (t) => {
          const store = await newStore(t, 0)
          await identify(store, A, 'j1', [{ user_id: 'u0' }], T0)
          await store.createJob(jobRecord(A, 'running', T0, 1), [{ user_id: 'u1' }])
          const ended = await walk(store, A, 'j1', TO_COMPLETED, T0 + 10)
          t.equal(ended?.status, 'completed', 'the mover still gets the ended job')
          t.equal(ended?.endTime, T0 + 10)
          t.equal(await store.getJob(A, 'j1'), undefined)
          t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['running'], 'non-terminal jobs stay')
          t.equal((await store.profiles.getUser(A, 'u0'))?.lastTouch.id, 'j1', 'users outlive the jobs that wrote them')
        })

        t.test('is per tenant', async (t) => {
          const store = await newStore(t, 1)
          await store.createJob(jobRecord(A, 'a1', T0, 1), [{ user_id: 'u' }])
          await store.createJob(jobRecord(B, 'b1', T0, 1), [{ user_id: 'u' }])
          await walk(store, B, 'b1', ['queued', 'failed'], T0 + 1)
          await walk(store, A, 'a1', ['queued', 'failed'], T0 + 2)
          await store.createJob(jobRecord(A, 'a2', T0, 1), [{ user_id: 'u' }])
          await walk(store, A, 'a2', ['queued', 'failed'], T0 + 3)
          t.equal(await store.getJob(A, 'a1'), undefined, 'A keeps one')
          t.equal((await store.getJob(A, 'a2'))?.status, 'failed')
          t.equal((await store.getJob(B, 'b1'))?.status, 'failed', "B's job is not pushed out by A's")
        })
      })
    })

    t.test('users', async (t) => {
      t.test('created on first identify', async (t) => {
        const store = await newStore(t)
        t.equal(await store.profiles.getUser(A, 'u1'), undefined)
        await identify(store, A, 'j1', [{ user_id: 'u1' }, { user_id: 'u2', company_id: 'c1', metadata: { plan: 'pro', seats: 3 } }], T0)
        const u1 = await store.profiles.getUser(A, 'u1') as StoredUser
        t.same(u1, { userId: 'u1', companyId: null, metadata: {}, createdAt: T0, updatedAt: T0, lastTouch: { kind: 'job', id: 'j1' }, deletionScheduledAt: null })
        t.equal(Object.getPrototypeOf(u1.metadata), null, 'metadata has no prototype')
        t.same(await store.profiles.getUser(A, 'u2'), { userId: 'u2', companyId: 'c1', metadata: { plan: 'pro', seats: 3 }, createdAt: T0, updatedAt: T0, lastTouch: { kind: 'job', id: 'j1' }, deletionScheduledAt: null })
      })

      t.test('metadata merges across jobs, null removes a property', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', [{ user_id: 'u1', metadata: { a: 1, b: 'x', gone: true } }], T0)
        await identify(store, A, 'j2', [{ user_id: 'u1', metadata: { b: 'y', c: false, gone: null } }], T0 + 1000)
        const user = await store.profiles.getUser(A, 'u1')
        t.same({ ...user?.metadata }, { a: 1, b: 'y', c: false })
        t.notOk(user !== undefined && 'gone' in user.metadata)
        await identify(store, A, 'j3', [{ user_id: 'u1' }], T0 + 2000)
        t.same({ ...(await store.profiles.getUser(A, 'u1'))?.metadata }, { a: 1, b: 'y', c: false }, 'omitted metadata keeps it all')
      })

      t.test('a new company_id moves the user; an omitted one keeps it', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', [{ user_id: 'u1', company_id: 'c1' }], T0)
        await identify(store, A, 'j2', [{ user_id: 'u1', company_id: 'c2' }], T0 + 1)
        t.equal((await store.profiles.getUser(A, 'u1'))?.companyId, 'c2')
        await identify(store, A, 'j3', [{ user_id: 'u1', metadata: { x: 1 } }], T0 + 2)
        t.equal((await store.profiles.getUser(A, 'u1'))?.companyId, 'c2')
      })

      t.test('later rows in the same job win', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', [
          { user_id: 'u1', company_id: 'c1', metadata: { a: 1, first: 'yes' } },
          { user_id: 'u2' },
          { user_id: 'u1', company_id: 'c2', metadata: { a: 2, second: 'yes' } }
        ], T0)
        const user = await store.profiles.getUser(A, 'u1')
        t.equal(user?.companyId, 'c2')
        t.same({ ...user?.metadata }, { a: 2, first: 'yes', second: 'yes' })
        t.same((await store.profiles.listUsers(A, { limit: 10, offset: 0 })).map((u) => u.userId), ['u1', 'u2'], 'one user per id, in first-seen order')
      })

      t.test('createdAt stays; updatedAt and lastTouch follow the latest job', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', [{ user_id: 'u1' }], T0)
        await identify(store, A, 'j2', [{ user_id: 'u1', metadata: { a: 1 } }], T0 + 5000)
        const user = await store.profiles.getUser(A, 'u1')
        t.equal(user?.createdAt, T0)
        t.equal(user?.updatedAt, T0 + 5000)
        t.equal(user?.lastTouch.id, 'j2')
      })

      t.test('listUsers: first-identified order with limit and offset', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', [{ user_id: 'c' }, { user_id: 'a' }], T0)
        await identify(store, A, 'j2', [{ user_id: 'b' }, { user_id: 'a' }, { user_id: 'd' }], T0 + 1)
        const ids = async (limit: number, offset: number): Promise<string[]> =>
          (await store.profiles.listUsers(A, { limit, offset })).map((user) => user.userId)
        t.same(await ids(10, 0), ['c', 'a', 'b', 'd'])
        t.same(await ids(2, 0), ['c', 'a'])
        t.same(await ids(2, 2), ['b', 'd'])
        t.same(await ids(2, 3), ['d'])
        t.same(await ids(2, 4), [])
        t.same(await ids(0, 0), [])
        t.same(await store.profiles.listUsers('nobody', { limit: 10, offset: 0 }), [])
      })

      t.test('returned users are detached copies', async (t) => {
        const store = await newStore(t)
        const rows: JobRow[] = [{ user_id: 'u1', company_id: 'c1', metadata: { a: 1 } }]
        await identify(store, A, 'j1', rows, T0)
        const fromGet = await store.profiles.getUser(A, 'u1') as StoredUser
        fromGet.companyId = 'hacked'
        fromGet.metadata.a = 'hacked'
        fromGet.metadata.added = true
        const [fromList] = await store.profiles.listUsers(A, { limit: 1, offset: 0 })
        delete (fromList as StoredUser).metadata.a
        ;(fromList as StoredUser).updatedAt = 0
        // The rows the job was created with do not alias the stored profile either.
        ;(rows[0] as JobRow & { metadata: Record<string, unknown> }).metadata.a = 'from the row'
        const user = await store.profiles.getUser(A, 'u1')
        t.same(user, { userId: 'u1', companyId: 'c1', metadata: { a: 1 }, createdAt: T0, updatedAt: T0, lastTouch: { kind: 'job', id: 'j1' }, deletionScheduledAt: null })
        t.not(await store.profiles.getUser(A, 'u1'), await store.profiles.getUser(A, 'u1'), 'a new object each time')
      })

      t.test('tenants are isolated', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'ja', [{ user_id: 'same', company_id: 'ca', metadata: { who: 'a' } }], T0)
        t.equal(await store.profiles.getUser(B, 'same'), undefined, 'B does not see A\'s user')
        t.same(await store.profiles.listUsers(B, { limit: 10, offset: 0 }), [])
        t.same(await store.listJobs(B, { limit: 10, offset: 0 }), [], 'B does not see A\'s jobs')
        t.equal(await store.getJob(B, 'ja'), undefined)
        await identify(store, B, 'jb', [{ user_id: 'same', metadata: { who: 'b' } }], T0 + 1)
        const a = await store.profiles.getUser(A, 'same')
        const b = await store.profiles.getUser(B, 'same')
        t.same({ ...a?.metadata }, { who: 'a' })
        t.equal(a?.companyId, 'ca')
        t.equal(a?.lastTouch.id, 'ja')
        t.same({ ...b?.metadata }, { who: 'b' })
        t.equal(b?.companyId, null)
        t.equal(b?.lastTouch.id, 'jb')
        t.same((await store.listJobs(A, { limit: 10, offset: 0 })).map((job) => job.jobId), ['ja'])
        t.same((await store.listJobs(B, { limit: 10, offset: 0 })).map((job) => job.jobId), ['jb'])
      })

      t.test('the same job id in two tenants is two jobs', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j', T0, 1), [{ user_id: 'ua' }])
        await store.createJob(jobRecord(B, 'j', T0, 1), [{ user_id: 'ub' }])
        await store.applyRows(A, 'j', 1, T0 + 1)
        t.equal((await store.getJob(A, 'j'))?.completedRows, 1)
        t.equal((await store.getJob(B, 'j'))?.completedRows, 0)
        t.ok(await store.profiles.getUser(A, 'ua'))
        t.equal(await store.profiles.getUser(B, 'ub'), undefined)
      })

      t.test('__proto__, constructor and prototype are stored as ordinary keys', async (t) => {
        const store = await newStore(t)
        const rows = rowsFromJson(`[
          {"user_id":"u1","metadata":{"__proto__":"p","constructor":"c","prototype":"x","polluted":"own"}},
          {"user_id":"u2","metadata":{"__proto__":{"polluted":"yes"}}}
        ]`)
        t.ok(Object.hasOwn(rows[0]?.metadata ?? {}, '__proto__'), 'the parsed row has an own __proto__')
        await identify(store, A, 'j1', rows, T0)
        const user = await store.profiles.getUser(A, 'u1') as StoredUser
        t.same(Object.keys(user.metadata).sort(), ['__proto__', 'constructor', 'polluted', 'prototype'])
        t.equal(Object.getOwnPropertyDescriptor(user.metadata, '__proto__')?.value, 'p')
        t.equal(user.metadata.constructor, 'c')
        t.equal(user.metadata.prototype, 'x')
        t.equal(Object.getPrototypeOf(user.metadata), null)
        const other = await store.profiles.getUser(A, 'u2') as StoredUser
        t.equal(Object.getPrototypeOf(other.metadata), null, 'an object under __proto__ does not become a prototype')
        t.equal((other.metadata as Record<string, unknown>).polluted, undefined)
        assertPrototypeClean(t)

        await identify(store, A, 'j2', rowsFromJson('[{"user_id":"u1","metadata":{"__proto__":null,"constructor":"c2"}}]'), T0 + 1)
        const after = await store.profiles.getUser(A, 'u1') as StoredUser
        t.same(Object.keys(after.metadata).sort(), ['constructor', 'polluted', 'prototype'], 'null removes __proto__ like any key')
        t.equal(after.metadata.constructor, 'c2')
        assertPrototypeClean(t)
      })

      t.test('__proto__ and constructor as user ids, job ids and tenants', async (t) => {
        const store = await newStore(t)
        await identify(store, '__proto__', 'constructor', rowsFromJson('[{"user_id":"__proto__"},{"user_id":"constructor"},{"user_id":"toString"}]'), T0)
        t.same((await store.profiles.listUsers('__proto__', { limit: 10, offset: 0 })).map((user) => user.userId), ['__proto__', 'constructor', 'toString'])
        t.equal((await store.profiles.getUser('__proto__', '__proto__'))?.lastTouch.id, 'constructor')
        t.equal((await store.getJob('__proto__', 'constructor'))?.completedRows, 3)
        t.equal(await store.profiles.getUser(A, 'constructor'), undefined)
        t.equal(await store.getJob(A, 'constructor'), undefined)
        assertPrototypeClean(t)
      })
    })
  })
}

t.test('close() forgets everything', async (t) => {
  const store = new MemoryStore({ jobRetention: 10 })
  await identify(store, A, 'j1', [{ user_id: 'u1' }], T0)
  t.equal(await store.close(), undefined)
  t.equal(await store.getJob(A, 'j1'), undefined)
  t.equal(await store.profiles.getUser(A, 'u1'), undefined)
  t.same(await store.listJobs(A, { limit: 10, offset: 0 }), [])
  t.same(await store.profiles.listUsers(A, { limit: 10, offset: 0 }), [])
  t.equal(await store.applyRows(A, 'j1', 1, T0), undefined)
  t.equal(await store.transitionJob(A, 'j1', 'completed', 'failed', T0), undefined)
})

t.test('runJobNow (memory only: jobs whose stages last 0 ms, in one step)', async (t) => {
  const rows: JobRow[] = [{ user_id: 'u0', metadata: { n: 0 } }, { user_id: 'u1', metadata: { n: 1 } }]

  t.test('carries the lane\'s oldest job to completed at one time, its rows applied', async (t) => {
    const store = new MemoryStore({ jobRetention: 1 })
    await store.createJob(jobRecord(A, 'j1', T0, 2), rows)
    const done = await store.runJobNow(A, 'j1', T0 + 5) as JobRecord
    t.equal(done.status, 'completed')
    t.same(done.history, TO_COMPLETED.map((status, index) => ({ status, at: index === 0 ? T0 : T0 + 5 })))
    t.equal(done.endTime, T0 + 5)
    t.equal(done.completedRows, 2)
    t.strictSame(await store.getJob(A, 'j1'), done, 'what it returns is what is stored')
    t.match(await store.profiles.getUser(A, 'u1'), { metadata: { n: 1 }, lastTouch: { kind: 'job', id: 'j1' } })
    t.equal(await store.oldestActiveJob(A), undefined, 'the lane is free')
    await store.createJob(jobRecord(A, 'j2', T0, 0), [])
    t.equal((await store.runJobNow(A, 'j2', T0))?.status, 'completed', 'a job without rows too')
    t.equal(await store.getJob(A, 'j1'), undefined, 'ended jobs are kept under MOCK_JOB_RETENTION as after transitions')
  })

  t.test('a job told to fail at a stage fails on arriving there; rows only once it has passed processing', async (t) => {
    for (const [failAt, applied] of [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 2]] as const) {
      const store = new MemoryStore({ jobRetention: 10 })
      await store.createJob({ ...jobRecord(A, 'j1', T0, 2), failAt }, rows)
      const failed = await store.runJobNow(A, 'j1', T0) as JobRecord
      const path = [...TO_COMPLETED.slice(0, TO_COMPLETED.indexOf(failAt) + 1), 'failed']
      t.same(failed.history.map((change) => change.status), path, `failAt ${failAt}`)
      t.equal(failed.completedRows, applied)
      t.equal(failed.endTime, T0)
      t.equal((await store.profiles.listUsers(A, { limit: 10, offset: 0 })).length, applied)
    }
  })

  t.test('undefined, and nothing changed, for a job behind another in its lane, an ended job or one that is gone', async (t) => {
    const store = new MemoryStore({ jobRetention: 10 })
    await store.createJob(jobRecord(A, 'j1', T0, 2), rows)
    await store.createJob(jobRecord(A, 'j2', T0, 2), rows)
    t.equal(await store.runJobNow(A, 'j2', T0), undefined, 'behind j1')
    t.equal((await store.getJob(A, 'j2'))?.status, 'queued')
    await store.createJob(jobRecord(A, 'i1', T0, 0, 'import'), [])
    t.equal((await store.runJobNow(A, 'i1', T0))?.status, 'completed', 'another lane does not wait for j1')
    t.equal((await store.runJobNow(A, 'j1', T0))?.status, 'completed')
    t.equal(await store.runJobNow(A, 'j1', T0 + 1), undefined, 'already ended')
    t.equal((await store.getJob(A, 'j1'))?.endTime, T0)
    t.equal(await store.runJobNow(A, 'nope', T0), undefined)
    t.equal(await store.runJobNow('nobody', 'j1', T0), undefined)
  })
})
