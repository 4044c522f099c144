import t, { type Test } from 'tap'
import { jobRecord as queuedJob, storeBackends, type StoreBackend, type StoreOptions } from '../helpers/store.js'
import { FAULT_LIMIT, type FaultRule, type JobRecord, type JobRow, type JournalRecord, type MockStore } from '../../src/store/store.js'

// The parts of the memory store behind the control API: journal, faults,
// fail-at, tenants, the users filter and reset.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const B = 'tenant-b'
const ALL = { limit: 1000, offset: 0 }

let backend: StoreBackend

async function newStore (t: Test, options: Partial<StoreOptions> = {}): Promise<MockStore> {
  return await backend.create(t, options)
}

function jobRecord (tenant: string, jobId: string, totalRows = 1): JobRecord {
  return queuedJob(tenant, jobId, T0, totalRows, 'users', 10)
}

async function identify (store: MockStore, tenant: string, jobId: string, rows: JobRow[]): Promise<void> {
  await store.createJob(jobRecord(tenant, jobId, rows.length), rows)
  await store.applyRows(tenant, jobId, rows.length, T0)
}

function request (tenant: string | null, path: string, extra: Partial<JournalRecord> = {}): Omit<JournalRecord, 'id'> {
  return {
    time: T0,
    tenant,
    requestId: `req-${path}`,
    method: 'GET',
    path,
    status: 200,
    durationMs: 1.5,
    headers: { authorization: 'Token ***' },
    body: null,
    bodyBytes: 0,
    bodyTruncated: false,
    warnings: [],
    ...extra
  }
}

function fault (tenant: string, id: string, extra: Partial<FaultRule> = {}): FaultRule {
  return { id, tenant, method: null, path: null, timesLeft: 1, status: 503, delayMs: 0, body: undefined, headers: {}, dropConnection: false, ...extra }
}

function ids (items: Array<{ id: string | number }>): Array<string | number> {
  return items.map((item) => item.id)
}

for (const each of storeBackends()) {
  t.test(each.name, { skip: each.skip }, async (t) => {
    backend = each
    t.test('journal', async (t) => {
      t.test('entries are numbered from 1 in arrival order and listed newest first', async (t) => {
        const store = await newStore(t)
        await store.appendRequest(request(A, '/1'))
        await store.appendRequest(request(B, '/2'))
        await store.appendRequest(request(null, '/3'))
        const all = await store.listRequests(null, ALL)
        t.same(all, [
          { ...request(null, '/3'), id: 3 },
          { ...request(B, '/2'), id: 2 },
          { ...request(A, '/1'), id: 1 }
        ])
      })

      t.test('a tenant sees only its own entries; null sees every entry, keyless ones too', async (t) => {
        const store = await newStore(t)
        for (const [tenant, path] of [[A, '/a1'], [B, '/b1'], [null, '/none'], [A, '/a2']] as const) await store.appendRequest(request(tenant, path))
        t.same((await store.listRequests(A, ALL)).map((entry) => entry.path), ['/a2', '/a1'])
        t.same((await store.listRequests(B, ALL)).map((entry) => entry.path), ['/b1'])
        t.same((await store.listRequests('nobody', ALL)).map((entry) => entry.path), [])
        t.same((await store.listRequests(null, ALL)).map((entry) => entry.path), ['/a2', '/none', '/b1', '/a1'])
      })

      t.test('limit and offset apply after the tenant filter', async (t) => {
        const store = await newStore(t)
        for (let i = 1; i <= 6; i++) await store.appendRequest(request(i % 2 === 0 ? A : B, `/${i}`))
        t.same((await store.listRequests(A, { limit: 2, offset: 0 })).map((entry) => entry.path), ['/6', '/4'])
        t.same((await store.listRequests(A, { limit: 2, offset: 1 })).map((entry) => entry.path), ['/4', '/2'])
        t.same((await store.listRequests(A, { limit: 2, offset: 3 })).map((entry) => entry.path), [])
        t.same((await store.listRequests(null, { limit: 3, offset: 2 })).map((entry) => entry.path), ['/4', '/3', '/2'])
      })

      t.test('bounded by journalSize: only the newest entries remain, numbering goes on', async (t) => {
        const store = await newStore(t, { journalSize: 3 })
        for (let i = 1; i <= 5; i++) await store.appendRequest(request(A, `/${i}`))
        const entries = await store.listRequests(null, ALL)
        t.same(entries.map((entry) => [entry.id, entry.path]), [[5, '/5'], [4, '/4'], [3, '/3']])
      })

      t.test('journalSize defaults to 1000', async (t) => {
        const store = await newStore(t)
        for (let i = 1; i <= 1001; i++) await store.appendRequest(request(A, `/${i}`))
        const entries = await store.listRequests(null, ALL)
        t.equal(entries.length, 1000)
        t.equal(entries[0]?.id, 1001)
        t.equal(entries.at(-1)?.id, 2, 'the first one is gone')
      })

      t.test('journalSize 0 keeps nothing', async (t) => {
        const store = await newStore(t, { journalSize: 0 })
        await store.appendRequest(request(A, '/1'))
        t.same(await store.listRequests(null, ALL), [])
      })

      t.test('entries handed out are detached copies', async (t) => {
        const store = await newStore(t)
        await store.appendRequest(request(A, '/1'))
        const [entry] = await store.listRequests(A, ALL) as [JournalRecord]
        entry.path = '/changed'
        entry.headers.authorization = 'Token leaked'
        t.same(await store.listRequests(A, ALL), [{ ...request(A, '/1'), id: 1 }])
      })
    })

    t.test('faults', async (t) => {
      t.test('addFaults queues in order; listFaults per tenant, or every tenant with null', async (t) => {
        const store = await newStore(t)
        t.equal(await store.addFaults([fault(A, 'a1'), fault(B, 'b1')]), true)
        t.equal(await store.addFaults([fault(A, 'a2')]), true)
        t.same(ids(await store.listFaults(A)), ['a1', 'a2'])
        t.same(ids(await store.listFaults(B)), ['b1'])
        t.same(ids(await store.listFaults('nobody')), [])
        t.same(ids(await store.listFaults(null)), ['a1', 'a2', 'b1'])
        t.same(await store.listFaults(A), [fault(A, 'a1'), fault(A, 'a2')], 'whole rules')
      })

      t.test(`at most ${FAULT_LIMIT} faults per tenant by default; over it nothing of the batch is added`, async (t) => {
        const store = await newStore(t)
        const batch = Array.from({ length: FAULT_LIMIT }, (_, i) => fault(A, `a${i}`))
        t.equal(await store.addFaults(batch), true, `${FAULT_LIMIT} fit`)
        t.equal(await store.addFaults([fault(A, 'one-more')]), false, 'one more does not')
        t.equal((await store.listFaults(A)).length, FAULT_LIMIT)
        t.equal(await store.addFaults([fault(B, 'b1'), fault(A, 'a-over')]), false, 'a batch with one tenant over is refused whole')
        t.same(await store.listFaults(B), [], 'the other tenant got nothing of it')
        await store.takeFault(A, 'GET', '/x')
        t.equal(await store.addFaults([fault(A, 'after-use')]), true, 'a used-up fault makes room')
      })

      t.test('faultLimit is counted per tenant, within a batch too', async (t) => {
        const store = await newStore(t, { faultLimit: 2 })
        t.equal(await store.addFaults([fault(A, 'a1'), fault(A, 'a2'), fault(A, 'a3')]), false)
        t.same(await store.listFaults(null), [])
        t.equal(await store.addFaults([fault(A, 'a1'), fault(A, 'a2'), fault(B, 'b1'), fault(B, 'b2')]), true)
        t.equal(await store.addFaults([fault(B, 'b3')]), false)
        t.same(ids(await store.listFaults(null)), ['a1', 'a2', 'b1', 'b2'])
      })

      t.test('clearFaults clears one tenant, or every tenant with null', async (t) => {
        const store = await newStore(t)
        await store.addFaults([fault(A, 'a1'), fault(B, 'b1')])
        await store.clearFaults('nobody')
        await store.clearFaults(A)
        t.same(ids(await store.listFaults(null)), ['b1'])
        await store.addFaults([fault(A, 'a2')])
        await store.clearFaults(null)
        t.same(await store.listFaults(null), [])
      })

      t.test('takeFault: method and path matching', async (t) => {
        const cases: Array<[string, Partial<FaultRule>, string, string, boolean]> = [
          ['any method, any path', {}, 'DELETE', '/anything', true],
          ['the method', { method: 'POST' }, 'POST', '/v1/x', true],
          ['another method', { method: 'POST' }, 'GET', '/v1/x', false],
          ['the exact path', { path: '/v1/background_jobs' }, 'GET', '/v1/background_jobs', true],
          ['a longer path is not the exact path', { path: '/v1/background_jobs' }, 'GET', '/v1/background_jobs/1', false],
          ['a shorter path is not the exact path', { path: '/v1/background_jobs' }, 'GET', '/v1/background', false],
          ['a prefix with *', { path: '/v1/background_jobs/*' }, 'GET', '/v1/background_jobs/bulk:jobs:1', true],
          ['a prefix with * matches the prefix itself', { path: '/v1/background_jobs*' }, 'GET', '/v1/background_jobs', true],
          ['a prefix with * does not match elsewhere', { path: '/v1/users*' }, 'GET', '/v1/background_jobs', false],
          ['a lone * matches everything', { path: '*' }, 'GET', '/v1/x', true],
          ['a * inside the path is a plain character', { path: '/v1/*/bulk_identify' }, 'POST', '/v1/users/bulk_identify', false],
          ['method and path both', { method: 'POST', path: '/v1/users/bulk_identify' }, 'POST', '/v1/users/bulk_identify', true],
          ['method right, path wrong', { method: 'POST', path: '/v1/users/bulk_identify' }, 'POST', '/v1/companies/bulk_identify', false]
        ]
        for (const [name, rule, method, path, matches] of cases) {
          const store = await newStore(t)
          await store.addFaults([fault(A, 'f', rule)])
          const taken = await store.takeFault(A, method, path)
          t.equal(taken?.id, matches ? 'f' : undefined, name)
        }
      })

      t.test('takeFault takes the first matching rule, one use at a time, and drops it when used up', async (t) => {
        const store = await newStore(t)
        await store.addFaults([
          fault(A, 'post-only', { method: 'POST', timesLeft: 1 }),
          fault(A, 'twice', { timesLeft: 2 }),
          fault(A, 'later', { timesLeft: 1 })
        ])
        const first = await store.takeFault(A, 'GET', '/v1/x')
        t.same(first, fault(A, 'twice', { timesLeft: 1 }), 'the first matching rule, with the uses left after this one')
        t.same((await store.listFaults(A)).map((rule) => [rule.id, rule.timesLeft]), [['post-only', 1], ['twice', 1], ['later', 1]])
        t.same(await store.takeFault(A, 'GET', '/v1/x'), fault(A, 'twice', { timesLeft: 0 }), 'its last use')
        t.same(ids(await store.listFaults(A)), ['post-only', 'later'], 'gone when used up')
        t.equal((await store.takeFault(A, 'GET', '/v1/x'))?.id, 'later')
        t.equal(await store.takeFault(A, 'GET', '/v1/x'), undefined, 'nothing left for GET')
        t.equal((await store.takeFault(A, 'POST', '/v1/x'))?.id, 'post-only')
        t.same(await store.listFaults(A), [])
      })

      t.test('takeFault: another tenant, or one without state, gets nothing', async (t) => {
        const store = await newStore(t)
        await store.addFaults([fault(A, 'a1')])
        t.equal(await store.takeFault(B, 'GET', '/v1/x'), undefined)
        t.equal(await store.takeFault('nobody', 'GET', '/v1/x'), undefined)
        t.same(ids(await store.listFaults(A)), ['a1'], 'untouched')
      })

      t.test('rules are copied in and out: body and headers included', async (t) => {
        const store = await newStore(t)
        const rule = fault(A, 'f', { body: { nested: { n: 1 } }, headers: { 'x-a': '1' }, timesLeft: 3 })
        await store.addFaults([rule])
        ;(rule.body as { nested: { n: number } }).nested.n = 2
        rule.headers['x-a'] = 'changed'
        const [listed] = await store.listFaults(A) as [FaultRule]
        t.same(listed.body, { nested: { n: 1 } })
        t.same(listed.headers, { 'x-a': '1' })
        ;(listed.body as { nested: { n: number } }).nested.n = 3
        listed.headers['x-b'] = 'added'
        listed.timesLeft = 99
        const taken = await store.takeFault(A, 'GET', '/') as FaultRule
        t.same(taken, fault(A, 'f', { body: { nested: { n: 1 } }, headers: { 'x-a': '1' }, timesLeft: 2 }))
        ;(taken.body as { nested: { n: number } }).nested.n = 4
        t.same((await store.listFaults(A))[0]?.body, { nested: { n: 1 } })
      })
    })

    t.test('setFailAt', async (t) => {
      t.test('marks a job that has not ended and returns it', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1'), [{ user_id: 'u' }])
        const job = await store.setFailAt(A, 'j1', 'processing')
        t.same(job, { ...jobRecord(A, 'j1'), failAt: 'processing' })
        t.equal((await store.getJob(A, 'j1'))?.failAt, 'processing', 'stored')
        t.equal((await store.setFailAt(A, 'j1', 'pending_refresh'))?.failAt, 'pending_refresh', 'a later call replaces it')
      })

      t.test('undefined for an ended job, an unknown job or tenant', async (t) => {
        const store = await newStore(t)
        await store.createJob(jobRecord(A, 'j1'), [])
        await store.transitionJob(A, 'j1', 'queued', 'failed', T0)
        t.equal(await store.setFailAt(A, 'j1', 'processing'), undefined, 'ended')
        t.equal((await store.getJob(A, 'j1'))?.failAt, undefined, 'unchanged')
        t.equal(await store.setFailAt(A, 'nope', 'processing'), undefined, 'unknown job')
        t.equal(await store.setFailAt(B, 'j1', 'processing'), undefined, 'another tenant')
      })
    })

    t.test('listUsers with a company filter', async (t) => {
      const store = await newStore(t)
      await identify(store, A, 'j1', [
        { user_id: 'u1', company_id: 'c1' },
        { user_id: 'u2', company_id: 'c2' },
        { user_id: 'u3', company_id: 'c1' },
        { user_id: 'u4' },
        { user_id: 'u5', company_id: 'c1' }
      ])
      const userIds = async (page: { limit: number, offset: number }, companyId?: string): Promise<string[]> =>
        (await store.profiles.listUsers(A, page, { companyId })).map((user) => user.userId)
      t.same(await userIds(ALL), ['u1', 'u2', 'u3', 'u4', 'u5'], 'no filter')
      t.same(await userIds(ALL, 'c1'), ['u1', 'u3', 'u5'])
      t.same(await userIds(ALL, 'c2'), ['u2'])
      t.same(await userIds(ALL, 'none'), [])
      t.same(await userIds({ limit: 2, offset: 0 }, 'c1'), ['u1', 'u3'], 'the page is cut after filtering')
      t.same(await userIds({ limit: 2, offset: 2 }, 'c1'), ['u5'])
      t.same(await store.profiles.listUsers(A, ALL, {}), await store.profiles.listUsers(A, ALL), 'an empty filter is no filter')

      await identify(store, A, 'j2', [{ user_id: 'u1', company_id: 'c2' }])
      t.same(await userIds(ALL, 'c1'), ['u3', 'u5'], 'a moved user leaves its old company')
      t.same(await userIds(ALL, 'c2'), ['u1', 'u2'], 'and keeps its first-identified place in the new one')
      t.same(await store.profiles.listUsers(B, ALL, { companyId: 'c1' }), [], 'a tenant without state')
    })

    t.test('companies of a tenant without state', async (t) => {
      const store = await newStore(t)
      t.equal(await store.profiles.getCompany(A, 'c1'), undefined)
      t.same(await store.profiles.listCompanies(A, ALL), [])
    })

    t.test('listTenants: every tenant with jobs or faults; journal entries alone do not count', async (t) => {
      const store = await newStore(t)
      t.same(await store.listTenants(), [])
      await store.appendRequest(request('journal-only', '/x'))
      t.same(await store.listTenants(), [])
      await store.createJob(jobRecord(A, 'j1'), [])
      await store.addFaults([fault(B, 'b1')])
      t.same(await store.listTenants(), [A, B])
      await store.clearFaults(B)
      t.same(await store.listTenants(), [A, B], 'a tenant stays until reset')
      await store.reset(B)
      t.same(await store.listTenants(), [A])
    })

    t.test('reset', async (t) => {
      async function seeded (t: Test): Promise<MockStore> {
        const store = await newStore(t)
        for (const tenant of [A, B]) {
          await identify(store, tenant, `${tenant}-job`, [{ user_id: 'u1', company_id: 'c1' }])
          await store.createJob({ ...jobRecord(tenant, `${tenant}-companies`), type: 'companies' }, [{ company_id: 'c1' }])
          await store.applyRows(tenant, `${tenant}-companies`, 1, T0)
          await store.addFaults([fault(tenant, `${tenant}-fault`)])
          await store.appendRequest(request(tenant, `/${tenant}`))
        }
        await store.appendRequest(request(null, '/keyless'))
        return store
      }

      async function snapshot (store: MockStore, tenant: string): Promise<unknown> {
        return {
          users: (await store.profiles.listUsers(tenant, ALL)).map((user) => user.userId),
          companies: (await store.profiles.listCompanies(tenant, ALL)).map((company) => [company.companyId, company.userCount]),
          jobs: (await store.listJobs(tenant, ALL)).map((job) => job.jobId),
          faults: ids(await store.listFaults(tenant)),
          journal: (await store.listRequests(tenant, ALL)).map((entry) => entry.path)
        }
      }

      t.test('one tenant: its users, companies, jobs, faults and journal entries; the others stay', async (t) => {
        const store = await seeded(t)
        const before = await snapshot(store, B)
        t.same(before, { users: ['u1'], companies: [['c1', 1]], jobs: [`${B}-companies`, `${B}-job`], faults: [`${B}-fault`], journal: [`/${B}`] }, 'precondition')
        await store.reset(A)
        t.same(await snapshot(store, A), { users: [], companies: [], jobs: [], faults: [], journal: [] })
        t.equal(await store.getJob(A, `${A}-job`), undefined)
        t.equal(await store.oldestActiveJob(A), undefined)
        t.same(await snapshot(store, B), before, 'the other tenant is untouched')
        t.same((await store.listRequests(null, ALL)).map((entry) => entry.path), ['/keyless', `/${B}`], 'keyless entries stay')
        t.same(await store.listTenants(), [B])
      })

      t.test('null: every tenant and the whole journal', async (t) => {
        const store = await seeded(t)
        await store.reset(null)
        t.same(await snapshot(store, A), { users: [], companies: [], jobs: [], faults: [], journal: [] })
        t.same(await snapshot(store, B), { users: [], companies: [], jobs: [], faults: [], journal: [] })
        t.same(await store.listRequests(null, ALL), [])
        t.same(await store.listTenants(), [])
      })

      t.test('the journal numbering goes on after a reset', async (t) => {
        const store = await seeded(t)
        await store.reset(null)
        await store.appendRequest(request(A, '/after'))
        t.same((await store.listRequests(null, ALL)).map((entry) => entry.id), [4], 'three entries were numbered before')
      })

      t.test('a tenant without state: nothing happens', async (t) => {
        const store = await seeded(t)
        await store.reset('nobody')
        t.same(await store.listTenants(), [A, B])
        t.equal((await store.listRequests(null, ALL)).length, 3)
      })
    })
  })
}
