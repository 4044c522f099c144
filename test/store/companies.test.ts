import t, { type Test } from 'tap'
import type { JobStatus, JobType } from '../../schemas/jobs.js'
import { jobRecord, storeBackends, type StoreBackend } from '../helpers/store.js'
import type { CompanyView, JobRecord, JobRow, MockStore } from '../../src/store/store.js'

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const B = 'tenant-b'
const ALL = { limit: 1000, offset: 0 }
const TO_COMPLETED: JobStatus[] = ['queued', 'validating', 'processing', 'pending_refresh', 'completed']

let backend: StoreBackend

async function newStore (t: Test): Promise<MockStore> {
  return await backend.create(t)
}

/** Rows parsed from JSON, as a request body would be, so that `__proto__` is an own key. */
function rowsFromJson (json: string): JobRow[] {
  return JSON.parse(json) as JobRow[]
}

/** Creates a job of `type` with `rows` and applies them all at `at`; returns the job record after. */
async function identify (store: MockStore, tenant: string, jobId: string, type: JobType, rows: JobRow[], at: number): Promise<JobRecord> {
  const created = await store.createJob(jobRecord(tenant, jobId, at, rows.length, type), rows)
  if (!created.created) throw new Error(`job ${jobId} was not created`)
  return await store.applyRows(tenant, jobId, rows.length, at) as JobRecord
}

/** Moves a job along `path` one compare-and-set at a time. */
async function walk (store: MockStore, tenant: string, jobId: string, path: JobStatus[], at: number): Promise<void> {
  for (let i = 1; i < path.length; i++) {
    await store.transitionJob(tenant, jobId, path[i - 1] as JobStatus, path[i] as JobStatus, at)
  }
}

/** A company view with plain metadata, for `t.same`. */
function plain (company: CompanyView | undefined): Record<string, unknown> | undefined {
  return company === undefined ? undefined : { ...company, metadata: { ...company.metadata } }
}

for (const each of storeBackends()) {
  t.test(each.name, { skip: each.skip }, async (t) => {
    backend = each
    t.test('createJob with { exclusive: true }', async (t) => {
      t.test('created when the tenant has no job at all', async (t) => {
        const store = await newStore(t)
        t.same(await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }], { exclusive: true }), { created: true })
        t.equal((await store.getJob(A, 'j1'))?.status, 'queued')
      })

      t.test('refused in every status that has not ended, naming the active job; the refused job is not stored', async (t) => {
        for (const [index, status] of TO_COMPLETED.slice(0, 4).entries()) {
          t.test(status, async (t) => {
            const store = await newStore(t)
            await store.createJob(jobRecord(A, 'active', T0, 1), [{ user_id: 'u1' }])
            await walk(store, A, 'active', TO_COMPLETED.slice(0, index + 1), T0 + 1)
            t.equal((await store.getJob(A, 'active'))?.status, status)
            const result = await store.createJob(jobRecord(A, 'second', T0 + 2, 1, 'companies'), [{ company_id: 'c1' }], { exclusive: true })
            t.same(result, { created: false, activeJobId: 'active' })
            t.equal(await store.getJob(A, 'second'), undefined, 'not stored')
            t.same((await store.listJobs(A, ALL)).map((job) => job.jobId), ['active'])
            t.equal(await store.applyRows(A, 'second', 1, T0 + 3), undefined, 'no rows kept for it')
          })
        }
      })

      t.test('created once the active job has completed or failed', async (t) => {
        for (const end of ['completed', 'failed'] as const) {
          t.test(end, async (t) => {
            const store = await newStore(t)
            await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }])
            if (end === 'completed') await walk(store, A, 'j1', TO_COMPLETED, T0 + 1)
            else await store.transitionJob(A, 'j1', 'queued', 'failed', T0 + 1)
            t.same(await store.createJob(jobRecord(A, 'j2', T0 + 2, 1), [{ user_id: 'u2' }], { exclusive: true }), { created: true })
            t.same((await store.listJobs(A, ALL)).map((job) => job.jobId), ['j2', 'j1'])
          })
        }
      })

      t.test('the oldest active job is named when several are active', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'done', T0, 1), [{ user_id: 'u' }])
        await walk(store, A, 'done', TO_COMPLETED, T0)
        await store.createJob(jobRecord(A, 'older', T0 + 1, 1), [{ user_id: 'u' }])
        await store.createJob(jobRecord(A, 'newer', T0 + 2, 1), [{ user_id: 'u' }])
        await walk(store, A, 'newer', ['queued', 'validating'], T0 + 3)
        t.same(await store.createJob(jobRecord(A, 'j', T0 + 4, 1), [{ user_id: 'u' }], { exclusive: true }), { created: false, activeJobId: 'older' })
      })

      t.test("another tenant's active job does not block", async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }])
        t.same(await store.createJob(jobRecord(B, 'j1', T0, 1), [{ user_id: 'u1' }], { exclusive: true }), { created: true })
        t.same(await store.createJob(jobRecord(B, 'j2', T0, 1), [{ user_id: 'u1' }], { exclusive: true }), { created: false, activeJobId: 'j1' })
      })

      t.test('with maxWaiting (queue mode, MOCK_QUEUE_LIMIT): refused once that many wait behind the running job', async (t) => {
        const store = await newStore(t)
        const create = async (id: string, maxWaiting: number): Promise<unknown> => await store.createJob(jobRecord(A, id, T0, 1), [{ user_id: id }], { maxWaiting })
        t.same(await create('j1', 0), { created: true }, 'the first runs: nothing waits')
        t.same(await create('j2', 0), { created: false, activeJobId: 'j1', queueFull: true }, 'a limit of 0: nothing may wait')
        t.same(await create('j2', 2), { created: true })
        t.same(await create('j3', 2), { created: true })
        t.same(await create('j4', 2), { created: false, activeJobId: 'j1', queueFull: true }, 'two wait already')
        t.equal(await store.getJob(A, 'j4'), undefined, 'not stored')
        await walk(store, A, 'j1', TO_COMPLETED, T0 + 1)
        t.same(await create('j4', 2), { created: true }, 'a place freed when the running job ended')
        t.same(await create('j5', 2), { created: false, activeJobId: 'j2', queueFull: true }, 'naming the job that runs now')
        t.same(await store.createJob(jobRecord(B, 'j1', T0, 1), [{ user_id: 'x' }], { maxWaiting: 0 }), { created: true }, 'another tenant has its own queue')
      })

      t.test('without exclusive (queue mode), jobs are created whatever is active', async (t) => {
        const store = await newStore(t)
        t.same(await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }]), { created: true })
        t.same(await store.createJob(jobRecord(A, 'j2', T0, 1), [{ user_id: 'u1' }], { exclusive: false }), { created: true })
        t.same(await store.createJob(jobRecord(A, 'j3', T0, 1), [{ user_id: 'u1' }], {}), { created: true })
        t.same((await store.listJobs(A, ALL)).map((job) => job.jobId), ['j3', 'j2', 'j1'])
      })

      t.test('of many exclusive creations started together, exactly one is created', async (t) => {
        const store = await newStore(t)
        const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
          store.createJob(jobRecord(A, `j${i}`, T0, 1), [{ user_id: `u${i}` }], { exclusive: true })))
        t.same(results, [{ created: true }, ...Array(9).fill({ created: false, activeJobId: 'j0' })])
        t.same((await store.listJobs(A, ALL)).map((job) => job.jobId), ['j0'])
      })
    })

    t.test('oldestActiveJob', async (t) => {
      t.test('undefined for an unknown tenant and for one whose jobs have all ended', async (t) => {
        const store = await newStore(t)
        t.equal(await store.oldestActiveJob(A), undefined)
        await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }])
        await store.createJob(jobRecord(A, 'j2', T0, 1), [{ user_id: 'u1' }])
        await walk(store, A, 'j1', TO_COMPLETED, T0 + 1)
        await store.transitionJob(A, 'j2', 'queued', 'failed', T0 + 1)
        t.equal(await store.oldestActiveJob(A), undefined)
        t.equal(await store.oldestActiveJob(B), undefined)
      })

      t.test('the oldest job that has not ended, in submission order', async (t) => {
        const store = await newStore(t)
        for (const id of ['j1', 'j2', 'j3']) await store.createJob(jobRecord(A, id, T0, 1), [{ user_id: 'u1' }])
        await walk(store, A, 'j3', ['queued', 'validating', 'processing'], T0 + 1)
        t.same(await store.oldestActiveJob(A), jobRecord(A, 'j1', T0, 1), 'j1, though j3 has moved further')
        await walk(store, A, 'j1', TO_COMPLETED, T0 + 2)
        t.equal((await store.oldestActiveJob(A))?.jobId, 'j2')
        await store.transitionJob(A, 'j2', 'queued', 'failed', T0 + 3)
        const j3 = await store.oldestActiveJob(A)
        t.equal(j3?.jobId, 'j3')
        t.equal(j3?.status, 'processing')
        t.equal((await store.oldestActiveJob(B)), undefined, 'per tenant')
      })

      t.test('returns a detached copy', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1', T0, 1), [{ user_id: 'u1' }])
        const job = await store.oldestActiveJob(A) as JobRecord
        job.status = 'failed'
        job.history.push({ status: 'failed', at: 0 })
        // Entries are frozen (memory, which shares them) or the caller's own (Redis): either way the store keeps its own.
        try { (job.history[0] as { at: number }).at = 1 } catch {}
        t.same(await store.getJob(A, 'j1'), jobRecord(A, 'j1', T0, 1))
      })
    })

    t.test('companies', async (t) => {
      t.test('applyRows on a companies job: in order, a chunk at a time, up to the total', async (t) => {
        const store = await newStore(t)
        const rows: JobRow[] = Array.from({ length: 5 }, (_, i) => ({ company_id: `c${i}`, metadata: { i } }))
        await store.createJob(jobRecord(A, 'j1', T0, 5, 'companies'), rows)
        t.equal(await store.profiles.getCompany(A, 'c0'), undefined, 'nothing before applyRows')
        const after2 = await store.applyRows(A, 'j1', 2, T0 + 10)
        t.equal(after2?.completedRows, 2)
        t.same((await store.profiles.listCompanies(A, ALL)).map((company) => company.companyId), ['c0', 'c1'])
        t.same(await store.profiles.listUsers(A, ALL), [], 'a companies job creates no users')
        const after5 = await store.applyRows(A, 'j1', 10, T0 + 20)
        t.equal(after5?.completedRows, 5, 'stops at the total')
        t.same((await store.applyRows(A, 'j1', 10, T0 + 30))?.completedRows, 5, 'nothing more to apply')
        t.same(plain(await store.profiles.getCompany(A, 'c0')), {
          companyId: 'c0', metadata: { i: 0 }, createdAt: T0 + 10, updatedAt: T0 + 10, lastTouch: { kind: 'job', id: 'j1' }, deletionScheduledAt: null, userCount: 0
        })
        t.same(plain(await store.profiles.getCompany(A, 'c4')), {
          companyId: 'c4', metadata: { i: 4 }, createdAt: T0 + 20, updatedAt: T0 + 20, lastTouch: { kind: 'job', id: 'j1' }, deletionScheduledAt: null, userCount: 0
        })
        await walk(store, A, 'j1', TO_COMPLETED, T0 + 40)
        t.equal(await store.applyRows(A, 'j1', 1, T0 + 50), undefined, 'undefined once the job has ended')
      })

      t.test('metadata merges across jobs, null removes, later rows win; createdAt stays', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'companies', [{ company_id: 'c1', metadata: { plan: 'free', seats: 3, note: 'x' } }], T0)
        await identify(store, A, 'j2', 'companies', [
          { company_id: 'c1', metadata: { plan: 'pro', note: null } },
          { company_id: 'c1' },
          { company_id: 'c1', metadata: { seats: 10, gone: null } }
        ], T0 + 100)
        t.same(plain(await store.profiles.getCompany(A, 'c1')), {
          companyId: 'c1', metadata: { plan: 'pro', seats: 10 }, createdAt: T0, updatedAt: T0 + 100, lastTouch: { kind: 'job', id: 'j2' }, deletionScheduledAt: null, userCount: 0
        })
      })

      t.test('userCount is derived from the users, whichever job came first', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'users', [{ user_id: 'u1', company_id: 'c1' }, { user_id: 'u2', company_id: 'c1' }, { user_id: 'u3', company_id: 'c2' }], T0)
        t.equal(await store.profiles.getCompany(A, 'c1'), undefined, 'users create no company record')
        t.same(await store.profiles.listCompanies(A, ALL), [])
        await identify(store, A, 'j2', 'companies', [{ company_id: 'c1' }, { company_id: 'c2' }, { company_id: 'c3' }], T0 + 1)
        const counts = async () => (await store.profiles.listCompanies(A, ALL)).map((company) => [company.companyId, company.userCount])
        t.same(await counts(), [['c1', 2], ['c2', 1], ['c3', 0]])
        await identify(store, A, 'j3', 'users', [{ user_id: 'u1', company_id: 'c2' }, { user_id: 'u2', company_id: 'c1' }, { user_id: 'u3' }, { user_id: 'u4', company_id: 'c3' }], T0 + 2)
        t.same(await counts(), [['c1', 1], ['c2', 2], ['c3', 1]], 'a move, a repeat of the same company, an omitted company, a new user')
        await identify(store, A, 'j4', 'users', [{ user_id: 'u2', company_id: 'elsewhere' }, { user_id: 'u4', company_id: 'c2' }, { user_id: 'u4', company_id: 'c1' }], T0 + 3)
        t.same(await counts(), [['c1', 1], ['c2', 2], ['c3', 0]])
        t.equal((await store.profiles.getCompany(A, 'c3'))?.userCount, 0)
        t.equal(await store.profiles.getCompany(A, 'elsewhere'), undefined)
      })

      t.test('listCompanies: first-identified order with limit and offset', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'companies', ['c3', 'c1', 'c4', 'c0', 'c2'].map((id) => ({ company_id: id })), T0)
        await identify(store, A, 'j2', 'companies', [{ company_id: 'c4', metadata: { again: true } }, { company_id: 'c5' }], T0 + 1)
        const ids = async (limit: number, offset: number) => (await store.profiles.listCompanies(A, { limit, offset })).map((company) => company.companyId)
        t.same(await ids(50, 0), ['c3', 'c1', 'c4', 'c0', 'c2', 'c5'], 'identifying again keeps the place')
        t.same(await ids(2, 0), ['c3', 'c1'])
        t.same(await ids(2, 2), ['c4', 'c0'])
        t.same(await ids(2, 5), ['c5'])
        t.same(await ids(2, 6), [])
        t.same(await ids(0, 0), [])
        t.same(await store.profiles.listCompanies('nobody', ALL), [], 'unknown tenant')
        t.equal(await store.profiles.getCompany('nobody', 'c1'), undefined, 'unknown tenant')
        t.equal(await store.profiles.getCompany(A, 'nope'), undefined, 'unknown company')
      })

      t.test('returned companies are detached copies', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'users', [{ user_id: 'u1', company_id: 'c1' }], T0)
        await identify(store, A, 'j2', 'companies', [{ company_id: 'c1', metadata: { plan: 'pro' } }], T0)
        const expected = { companyId: 'c1', metadata: { plan: 'pro' }, createdAt: T0, updatedAt: T0, lastTouch: { kind: 'job', id: 'j2' }, deletionScheduledAt: null, userCount: 1 }
        const got = await store.profiles.getCompany(A, 'c1') as CompanyView
        got.metadata.plan = 'hacked'
        got.metadata.extra = 1
        got.userCount = 99
        got.lastTouch = { kind: 'job', id: 'x' }
        const [listed] = await store.profiles.listCompanies(A, ALL) as [CompanyView]
        listed.metadata.plan = 'hacked too'
        delete listed.metadata.plan
        listed.userCount = -1
        t.same(plain(await store.profiles.getCompany(A, 'c1')), expected)
        t.same((await store.profiles.listCompanies(A, ALL)).map(plain), [expected])
      })

      t.test('the rows handed to createJob are applied as they were', async (t) => {
        const store = await newStore(t)
        const rows: JobRow[] = [{ company_id: 'c1', metadata: { a: 1 } }]
        await store.createJob(jobRecord(A, 'j1', T0, 1, 'companies'), rows)
        await store.applyRows(A, 'j1', 1, T0)
        ;(rows[0] as { metadata: Record<string, unknown> }).metadata.a = 2
        t.same({ ...(await store.profiles.getCompany(A, 'c1'))?.metadata }, { a: 1 }, 'the stored metadata is not the row object')
      })

      t.test('tenants are isolated', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'companies', [{ company_id: 'c1', metadata: { owner: 'a' } }], T0)
        await identify(store, B, 'j1', 'users', [{ user_id: 'u1', company_id: 'c1' }], T0)
        t.equal((await store.profiles.getCompany(A, 'c1'))?.userCount, 0, "B's user does not count in A")
        t.equal(await store.profiles.getCompany(B, 'c1'), undefined, "A's company is not B's")
        await identify(store, B, 'j2', 'companies', [{ company_id: 'c1', metadata: { owner: 'b' } }], T0 + 1)
        t.same(plain(await store.profiles.getCompany(B, 'c1')), { companyId: 'c1', metadata: { owner: 'b' }, createdAt: T0 + 1, updatedAt: T0 + 1, lastTouch: { kind: 'job', id: 'j2' }, deletionScheduledAt: null, userCount: 1 })
        t.same({ ...(await store.profiles.getCompany(A, 'c1'))?.metadata }, { owner: 'a' })
      })

      t.test('__proto__, constructor and toString as company ids and metadata keys are ordinary keys', async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'users', rowsFromJson('[{"user_id":"u1","company_id":"__proto__"},{"user_id":"u2","company_id":"constructor"}]'), T0)
        await identify(store, A, 'j2', 'companies', rowsFromJson('[{"company_id":"__proto__","metadata":{"__proto__":"polluted","constructor":"ctor","toString":"str"}},{"company_id":"constructor"}]'), T0)
        const proto = await store.profiles.getCompany(A, '__proto__')
        t.equal(proto?.companyId, '__proto__')
        t.equal(proto?.userCount, 1)
        t.same(Object.entries(proto?.metadata ?? {}), [['__proto__', 'polluted'], ['constructor', 'ctor'], ['toString', 'str']])
        t.equal(Object.getPrototypeOf(proto?.metadata), null, 'metadata has no prototype')
        t.equal((await store.profiles.getCompany(A, 'constructor'))?.userCount, 1)
        t.equal(await store.profiles.getCompany(A, 'toString'), undefined)
        t.equal(await store.profiles.getCompany(A, 'hasOwnProperty'), undefined)
        t.same((await store.profiles.listCompanies(A, ALL)).map((company) => company.companyId), ['__proto__', 'constructor'])
        t.equal(await store.profiles.getCompany('__proto__', '__proto__'), undefined, '__proto__ as a tenant')
        const probe = {} as Record<string, unknown>
        t.equal(probe.polluted, undefined)
        t.equal(Object.hasOwn(Object.prototype, 'polluted'), false)
        t.equal(probe.constructor, Object)
      })

      t.test('close() forgets the companies', { skip: backend.name === 'redis' && 'Redis keeps state after close (test/redis/redis-store.test.ts)' }, async (t) => {
        const store = await newStore(t)
        await identify(store, A, 'j1', 'companies', [{ company_id: 'c1' }], T0)
        await store.close()
        t.equal(await store.profiles.getCompany(A, 'c1'), undefined)
        t.same(await store.profiles.listCompanies(A, ALL), [])
      })
    })
  })
}
