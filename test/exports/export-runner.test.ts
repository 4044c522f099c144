import t, { type Test } from 'tap'
import { ManualClock } from '../../src/clock.js'
import { ExportRunner, exportMatches, exportProgress } from '../../src/exports/export-runner.js'
import type { ExportRecord } from '../../src/store/export-store.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { EventRecord } from '../../src/store/store.js'

// The export runner's edges: events pushed out while it runs, two movers at once, a failing store, close.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'

function event (n: number, fields: Partial<EventRecord> = {}): EventRecord {
  return { tenant: A, eventType: 'track', eventName: `e${n}`, userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: T0 + n, requestId: `r${n}`, ...fields }
}

function job (jobId: string, lastSeq: number, fields: Partial<ExportRecord> = {}): ExportRecord {
  return { jobId, tenant: A, appToken: 'NX-1', format: 'ndjson', filters: { from: null, to: null, eventTypes: null, userIds: null, companyIds: null }, status: 'pending', createdAt: T0, endTime: null, firstSeq: 1, lastSeq, cursor: 0, chunks: [], failAt: null, ...fields }
}

async function setup (t: Test, options: { retention?: number, chunkEvents?: number, auto?: boolean } = {}): Promise<{ store: MemoryStore, clock: ManualClock, runner: ExportRunner, errors: unknown[] }> {
  const store = new MemoryStore({ jobRetention: 10, eventRetention: options.retention ?? 100 })
  const clock = new ManualClock(T0)
  const errors: unknown[] = []
  const runner = new ExportRunner({ store, clock, stageMs: 100, chunkEvents: options.chunkEvents ?? 2, autoAdvance: options.auto ?? false, onError: (error) => errors.push(error) })
  t.teardown(async () => { await runner.close(); await store.close() })
  return { store, clock, runner, errors }
}

t.test('filters: a null user or company never matches a list of ids', async (t) => {
  const filters = job('x', 0).filters
  t.ok(exportMatches(event(1), filters))
  t.notOk(exportMatches(event(1, { userId: null }), { ...filters, userIds: ['u1'] }))
  t.notOk(exportMatches(event(1), { ...filters, companyIds: ['c1'] }))
  t.ok(exportMatches(event(1, { companyId: 'c1' }), { ...filters, companyIds: ['c1'] }))
  t.notOk(exportMatches(event(1), { ...filters, to: T0 + 1 }), 'to is exclusive')
  t.ok(exportMatches(event(1), { ...filters, from: T0 + 1 }), 'from is inclusive')
})

t.test('progress: 0 with nothing to read until completed', async (t) => {
  t.equal(exportProgress(job('x', 0, { firstSeq: 1 })), 0)
  t.equal(exportProgress(job('x', 0, { firstSeq: 1, status: 'completed' })), 100)
  t.equal(exportProgress(job('x', 4, { status: 'processing', cursor: 1 })), 25)
})

t.test('events pushed out of the ring while the export runs are skipped, and newer ones are not read', async (t) => {
  const { store, runner } = await setup(t, { retention: 3, chunkEvents: 10 })
  for (let n = 1; n <= 3; n++) await store.events.append(event(n))
  t.same(await runner.submit(job('x', 3)), { created: true })
  for (let n = 4; n <= 6; n++) await store.events.append(event(n))
  const done = await runner.advance(A, 'x', 'completed')
  t.match(done, { ok: true, job: { status: 'completed', cursor: 3, chunks: [{ number: 1, events: 0 }] } }, 'the events it was to read are gone; the newer ones are not its own')
  const second = await runner.submit(job('y', 5, { firstSeq: 4, cursor: 3 }))
  t.same(second, { created: true })
  await store.events.append(event(7))
  t.match(await runner.advance(A, 'y', 'completed'), { ok: true, job: { status: 'completed', cursor: 5, chunks: [{ events: 1 }] } }, 'event 4 went; 5 is read; 6 and 7 are not its own though the window holds them')
})

t.test('events no longer kept at all: the export ends with one empty file', async (t) => {
  const { store, runner } = await setup(t, { retention: 0 })
  for (let n = 1; n <= 3; n++) await store.events.append(event(n))
  await runner.submit(job('x', await store.events.lastSeq(A)))
  t.match(await runner.advance(A, 'x', 'completed'), { ok: true, job: { status: 'completed', cursor: 3, chunks: [{ number: 1, events: 0 }] } })
})

t.test('chunks of 10,000 events unless told otherwise', async (t) => {
  const store = new MemoryStore({ jobRetention: 10, eventRetention: 10_001 })
  t.teardown(async () => await store.close())
  const runner = new ExportRunner({ store, clock: new ManualClock(T0), stageMs: 0, autoAdvance: false, onError: () => {} })
  for (let n = 1; n <= 10_001; n++) await store.events.append(event(n))
  await runner.submit(job('x', 10_001))
  t.match(await runner.advance(A, 'x', 'completed'), { ok: true, job: { chunks: [{ events: 10_000 }, { events: 1 }] } })
})

t.test('two movers at once: one wins each step, the other sees its result', async (t) => {
  const { store, runner } = await setup(t)
  await store.events.append(event(1))
  await runner.submit(job('x', 1))
  const [a, b] = await Promise.all([runner.advance(A, 'x'), runner.advance(A, 'x')])
  t.match([a, b], [{ ok: true, job: { status: 'processing' } }, { ok: true, job: { status: 'processing' } }])
  const [c, d] = await Promise.all([runner.fail(A, 'x'), runner.advance(A, 'x')])
  t.equal((await store.exports.get(A, 'x'))?.status, 'failed')
  t.ok(c.ok || d.ok)
  t.match(await runner.fail(A, 'nope'), { ok: false, reason: 'not_found' })
  // A fail that loses its compare-and-set to another mover tries again on the job as it is then.
  await runner.submit(job('y', 1, { tenant: 'tenant-b' }))
  const update = store.exports.update.bind(store.exports)
  let lost = 1
  store.exports.update = async (record, expected) => lost-- > 0 ? false : await update(record, expected)
  t.match(await runner.fail('tenant-b', 'y'), { ok: true, job: { status: 'failed' } })
  t.match(await runner.advance(A, 'nope'), { ok: false, reason: 'not_found' })
})

t.test('on its own clock; a failing step is reported and tried again a second later', async (t) => {
  const { store, clock, runner, errors } = await setup(t, { auto: true })
  await store.events.append(event(1))
  const update = store.exports.update.bind(store.exports)
  let failures = 1
  store.exports.update = async (record, expected) => {
    if (failures-- > 0) throw new Error('store away')
    return await update(record, expected)
  }
  await runner.submit(job('x', 1))
  await clock.advance(100)
  t.equal(errors.length, 1)
  t.equal((await store.exports.get(A, 'x'))?.status, 'pending')
  await clock.advance(1000)
  t.equal((await store.exports.get(A, 'x'))?.status, 'processing')
  await clock.advance(100)
  t.equal((await store.exports.get(A, 'x'))?.status, 'completed')
  t.equal(clock.pending, 0, 'no timer left once it ended')
})

t.test('forget stops one tenant\'s timers; a job ended elsewhere is left alone; close stops the rest', async (t) => {
  const { store, clock, runner } = await setup(t, { auto: true })
  await runner.submit(job('x', 0))
  await runner.submit({ ...job('y', 0), tenant: 'tenant-b' })
  runner.forget(A)
  t.equal(clock.pending, 1)
  await store.exports.update({ ...(await store.exports.get('tenant-b', 'y')) as ExportRecord, status: 'failed' }, { status: 'pending', cursor: 0 })
  await clock.advance(100)
  t.equal((await store.exports.get('tenant-b', 'y'))?.status, 'failed')
  t.equal(clock.pending, 0)
  await runner.submit(job('z', 0, { tenant: 'tenant-c' }))
  await runner.close()
  t.equal(clock.pending, 0)
  t.same(await runner.submit(job('w', 0, { tenant: 'tenant-d' })), { created: true }, 'a closed runner records but never schedules')
  t.equal(clock.pending, 0)
})
