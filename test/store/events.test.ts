import t from 'tap'
import type { EventRecord } from '../../src/store/store.js'
import { storeBackends } from '../helpers/store.js'

// The event contract both backends keep: newest first, filtered, bounded per tenant.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const B = 'tenant-b'
const ALL = { limit: 1000, offset: 0 }

function event (tenant: string, n: number, fields: Partial<EventRecord> = {}): EventRecord {
  return { tenant, eventType: 'track', eventName: `e${n}`, userId: `u${n % 2}`, companyId: null, metadata: { n }, source: 'backend-http', insertedAt: T0 + n, requestId: `r${n}`, ...fields }
}

for (const backend of storeBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('append then list: newest first, whole records, per tenant', async (t) => {
      const store = await backend.create(t)
      const sent = [0, 1, 2].map((n) => event(A, n, n === 2 ? { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: { deep: { list: [1, 'ü', null] } } } : {}))
      for (const each of sent) await store.events.append(each)
      await store.events.append(event(B, 9))
      t.strictSame(await store.events.list(A, {}, ALL), [...sent].reverse())
      t.strictSame(await store.events.list(B, {}, ALL), [event(B, 9)])
      t.strictSame(await store.events.list('nobody', {}, ALL), [])
      t.strictSame((await store.listTenants()).sort(), [A, B], 'events alone make a tenant')
    })

    t.test('filters by user, company, type and name; pages after filtering', async (t) => {
      const store = await backend.create(t)
      for (let n = 0; n < 6; n++) await store.events.append(event(A, n, { companyId: n < 3 ? 'c1' : 'c2', eventType: n === 5 ? 'identify_user' : 'track' }))
      const ids = async (filter: Parameters<typeof store.events.list>[1], page = ALL): Promise<string[]> => (await store.events.list(A, filter, page)).map((each) => each.requestId)
      t.strictSame(await ids({ userId: 'u1' }), ['r5', 'r3', 'r1'])
      t.strictSame(await ids({ companyId: 'c1' }), ['r2', 'r1', 'r0'])
      t.strictSame(await ids({ eventType: 'identify_user' }), ['r5'])
      t.strictSame(await ids({ eventName: 'e4' }), ['r4'])
      t.strictSame(await ids({ userId: 'u1', companyId: 'c2', eventType: 'track' }), ['r3'])
      t.strictSame(await ids({ userId: 'u1' }, { limit: 1, offset: 1 }), ['r3'], 'offset counts matching events only')
      t.strictSame(await ids({}, { limit: 0, offset: 0 }), [])
    })

    t.test('retention: the oldest go first; 0 keeps none', async (t) => {
      const store = await backend.create(t, { eventRetention: 3 })
      for (let n = 0; n < 5; n++) await store.events.append(event(A, n))
      t.strictSame((await store.events.list(A, {}, ALL)).map((each) => each.requestId), ['r4', 'r3', 'r2'])
      const none = await backend.create(t, { eventRetention: 0 })
      await none.events.append(event(A, 1))
      t.strictSame(await none.events.list(A, {}, ALL), [])
    })

    t.test('reset forgets one tenant\'s events, or all', async (t) => {
      const store = await backend.create(t)
      await store.events.append(event(A, 1))
      await store.events.append(event(B, 2))
      await store.reset(A)
      t.strictSame(await store.events.list(A, {}, ALL), [])
      t.equal((await store.events.list(B, {}, ALL)).length, 1)
      await store.reset(null)
      t.strictSame(await store.events.list(B, {}, ALL), [])
    })

    t.test('scan: numbered oldest first from a number on, in windows, without the events pushed out', async (t) => {
      const store = await backend.create(t, { eventRetention: 4 })
      t.strictSame(await store.events.scan(A, 0, 10), [], 'no events')
      t.equal(await store.events.lastSeq(A), 0)
      for (let n = 1; n <= 6; n++) await store.events.append(event(A, n, n === 6 ? { micros: 555, hostname: 'h', pathname: '/p', userAgent: 'ua' } : {}))
      await store.events.append(event(B, 1))
      t.equal(await store.events.lastSeq(A), 6)
      const seqs = async (after: number, limit: number): Promise<number[]> => (await store.events.scan(A, after, limit)).map((each) => each.seq)
      t.strictSame(await seqs(0, 10), [3, 4, 5, 6], 'the first two went with the retention')
      t.strictSame(await seqs(3, 2), [4, 5])
      t.strictSame(await seqs(5, 10), [6])
      t.strictSame(await seqs(6, 10), [])
      t.strictSame(await seqs(2, 0), [])
      t.strictSame((await store.events.scan(A, 5, 1))[0]?.event, event(A, 6, { micros: 555, hostname: 'h', pathname: '/p', userAgent: 'ua' }), 'whole records')
      t.strictSame((await store.events.scan(B, 0, 10)).map((each) => each.event), [event(B, 1)], 'per tenant')
      const none = await backend.create(t, { eventRetention: 0 })
      await none.events.append(event(A, 1))
      t.strictSame(await none.events.scan(A, 0, 10), [], 'nothing kept, nothing scanned')
      t.equal(await none.events.lastSeq(A), 1, 'numbering goes on')
    })

    t.test('records are copies both ways', async (t) => {
      const store = await backend.create(t)
      const sent = event(A, 1, { metadata: { nested: { a: 1 } } })
      await store.events.append(sent)
      ;(sent.metadata.nested as { a: number }).a = 2
      const [got] = await store.events.list(A, {}, ALL)
      t.strictSame(got?.metadata, { nested: { a: 1 } })
      ;((got as EventRecord).metadata.nested as { a: number }).a = 3
      t.strictSame((await store.events.list(A, {}, ALL))[0]?.metadata, { nested: { a: 1 } })
    })
  })
}
