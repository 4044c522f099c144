import t from 'tap'
import type { ImportRow } from '../../src/imports/import-row.js'
import type { EventRecord, JobRecord } from '../../src/store/store.js'
import { jobRecord, storeBackends } from '../helpers/store.js'

// Import jobs in both backends: a lane of their own, and rows that merge profiles and become events.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const ALL = { limit: 1000, offset: 0 }
const TO_PROCESSING = ['queued', 'validating', 'processing'] as const

const ROWS: ImportRow[] = [
  { eventType: 'identify_user', eventName: '', userId: 'u1', companyId: 'c1', metadata: { plan: 'pro', ü: '✓' }, source: 'backend-http-import', insertedAt: Date.parse('2024-07-28T08:55:35.874Z'), micros: 555 },
  { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: { name: 'Acme' }, source: 'backend-hubspot', insertedAt: T0 - 3000 },
  { eventType: 'page_view', eventName: '', userId: 'u1', companyId: null, metadata: {}, source: 'web-client', insertedAt: T0 - 2000, hostname: 'app.example.com', pathname: '/a\nb', userAgent: 'UA/1' },
  { eventType: 'track', eventName: 'Clicked "Go"', userId: 'u2', companyId: null, metadata: { deep: { list: [1, null] } }, source: 'backend-segment', insertedAt: T0 - 1000 },
  { eventType: 'identify_user', eventName: '', userId: 'u1', companyId: null, metadata: { plan: null, seats: 3 }, source: 'backend-http', insertedAt: T0 - 500 }
]

function importJob (jobId: string, rows = ROWS.length): JobRecord {
  return jobRecord(A, jobId, T0, rows, 'import')
}

async function toProcessing (store: Awaited<ReturnType<ReturnType<typeof storeBackends>[number]['create']>>, jobId: string): Promise<void> {
  for (let i = 1; i < TO_PROCESSING.length; i++) await store.transitionJob(A, jobId, TO_PROCESSING[i - 1] as JobRecord['status'], TO_PROCESSING[i] as JobRecord['status'], T0 + i)
}

for (const backend of storeBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('imports queue in a lane of their own: a bulk job does not block them, nor the reverse', async (t) => {
      const store = await backend.create(t)
      t.same(await store.createJob(jobRecord(A, 'b1', T0, 1), [{ user_id: 'x' }], { exclusive: true }), { created: true })
      t.same(await store.createJob(importJob('i1'), ROWS, { exclusive: true }), { created: true }, 'a bulk job runs; the import is created')
      t.same(await store.createJob(importJob('i2'), ROWS, { exclusive: true }), { created: false, activeJobId: 'i1' }, 'one import at a time')
      t.same(await store.createJob(jobRecord(A, 'b2', T0, 1), [{ user_id: 'x' }], { exclusive: true }), { created: false, activeJobId: 'b1' })
      t.equal((await store.oldestActiveJob(A))?.jobId, 'b1', 'the bulk lane by default')
      t.equal((await store.oldestActiveJob(A, 'bulk'))?.jobId, 'b1')
      t.equal((await store.oldestActiveJob(A, 'import'))?.jobId, 'i1')
      await store.transitionJob(A, 'i1', 'queued', 'failed', T0 + 1)
      t.equal(await store.oldestActiveJob(A, 'import'), undefined, 'an ended import leaves its lane')
      t.equal((await store.oldestActiveJob(A, 'bulk'))?.jobId, 'b1', 'and not the other')
      t.same(await store.createJob(importJob('i3'), ROWS, { maxWaiting: 0 }), { created: true })
      t.same(await store.createJob(importJob('i4'), ROWS, { maxWaiting: 0 }), { created: false, activeJobId: 'i3', queueFull: true })
    })

    t.test('applying rows: identifies merge in file order, every row becomes an event of the job', async (t) => {
      const store = await backend.create(t)
      await store.createJob(importJob('i1'), ROWS)
      await toProcessing(store, 'i1')
      t.equal((await store.applyRows(A, 'i1', 2, T0 + 10))?.completedRows, 2)
      t.same((await store.profiles.getUser(A, 'u1'))?.metadata, { plan: 'pro', ü: '✓' })
      t.equal((await store.profiles.getUser(A, 'u1'))?.companyId, 'c1', 'a company id moves the user')
      t.equal((await store.events.list(A, {}, ALL)).length, 2, 'rows become events as they are applied')
      t.equal((await store.applyRows(A, 'i1', 10, T0 + 20))?.completedRows, 5)
      const user = await store.profiles.getUser(A, 'u1')
      t.same(user?.metadata, { ü: '✓', seats: 3 }, 'a later row wins; null removes')
      t.equal(user?.companyId, 'c1', 'a row without a company leaves the user where it is')
      t.strictSame(user?.lastTouch, { kind: 'job', id: 'i1' })
      t.equal(user?.updatedAt, T0 + 20)
      t.same((await store.profiles.getCompany(A, 'c1'))?.metadata, { name: 'Acme' })
      t.equal(await store.profiles.getUser(A, 'u2'), undefined, 'a track row identifies no one')
      const expected: EventRecord[] = ROWS.map((row) => ({ ...row, tenant: A, requestId: 'i1' }))
      t.strictSame((await store.events.scan(A, 0, 100)).map((each) => each.event), expected, 'in file order, each with its own source and inserted_at')
      t.strictSame((await store.events.scan(A, 0, 100)).map((each) => each.seq), [1, 2, 3, 4, 5])
    })

    t.test('import events share the numbering of real-time events and their retention', async (t) => {
      const store = await backend.create(t, { eventRetention: 3 })
      await store.events.append({ tenant: A, eventType: 'track', eventName: 'live', userId: 'u9', companyId: null, metadata: {}, source: 'backend-http', insertedAt: T0, requestId: 'r1' })
      await store.createJob(importJob('i1'), ROWS)
      await toProcessing(store, 'i1')
      await store.applyRows(A, 'i1', 5, T0 + 10)
      const kept = await store.events.scan(A, 0, 100)
      t.strictSame(kept.map((each) => each.seq), [4, 5, 6])
      t.equal(await store.events.lastSeq(A), 6)
      const none = await backend.create(t, { eventRetention: 0 })
      await none.createJob(importJob('i1'), ROWS)
      await toProcessing(none, 'i1')
      await none.applyRows(A, 'i1', 5, T0 + 10)
      t.strictSame(await none.events.scan(A, 0, 100), [], 'retention 0 keeps none')
      t.equal((await none.profiles.getUser(A, 'u1'))?.companyId, 'c1', 'but the identifies still apply')
    })
  })
}
