import t from 'tap'
import { EXPORT_COLUMN_KINDS, EXPORT_COLUMNS, insertedAtMicros, insertedAtText, toExportedEvent } from '../../src/exports/exported-event.js'
import type { EventRecord } from '../../src/store/event-store.js'

const MAX_DATE = 8.64e15
const T = Date.parse('2024-07-28T08:55:35.874Z')

t.test('the columns: every field of an exported event, in the documented order, each with a kind', async (t) => {
  t.strictSame(EXPORT_COLUMNS, ['app_token', 'event_type', 'event_name', 'user_id', 'company_id', 'source', 'inserted_at', 'hostname', 'pathname', 'user_agent', 'metadata'])
  t.strictSame(Object.keys(EXPORT_COLUMN_KINDS), [...EXPORT_COLUMNS])
  t.strictSame(EXPORT_COLUMNS.filter((column) => EXPORT_COLUMN_KINDS[column] === 'nullable'), ['user_id', 'company_id', 'hostname', 'pathname', 'user_agent'])
})

t.test('toExportedEvent: a page view with every auto-captured field and microseconds', async (t) => {
  const event: EventRecord = {
    tenant: 'tenant-a',
    eventType: 'page_view',
    eventName: '',
    userId: 'u1',
    companyId: 'c1',
    metadata: { deep: { list: [1, 'ü', null] } },
    source: 'web-client',
    insertedAt: T,
    micros: 555,
    requestId: 'import-1',
    hostname: 'app.example.com',
    pathname: '/billing',
    userAgent: 'Mozilla/5.0'
  }
  const exported = toExportedEvent(event, 'NX-abc')
  t.strictSame(exported, {
    app_token: 'NX-abc',
    event_type: 'page_view',
    event_name: '',
    user_id: 'u1',
    company_id: 'c1',
    source: 'web-client',
    inserted_at: '2024-07-28T08:55:35.874555Z',
    hostname: 'app.example.com',
    pathname: '/billing',
    user_agent: 'Mozilla/5.0',
    metadata: { deep: { list: [1, 'ü', null] } }
  })
  t.strictSame(Object.keys(exported), [...EXPORT_COLUMNS], 'keys in column order (NDJSON lines follow it)')
})

t.test('toExportedEvent: a real-time company identify: null user, no auto-captured fields, no micros', async (t) => {
  const event: EventRecord = { tenant: 'tenant-a', eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: {}, source: 'backend-http', insertedAt: T, requestId: 'req-1' }
  t.strictSame(toExportedEvent(event, 'NX-abc'), {
    app_token: 'NX-abc',
    event_type: 'identify_company',
    event_name: '',
    user_id: null,
    company_id: 'c1',
    source: 'backend-http',
    inserted_at: '2024-07-28T08:55:35.874000Z',
    hostname: null,
    pathname: null,
    user_agent: null,
    metadata: {}
  })
})

const TIMES: Array<[insertedAt: number, micros: number | undefined, text: string, microsSinceEpoch: bigint]> = [
  [T, 555, '2024-07-28T08:55:35.874555Z', 1722156935874555n],
  [T, undefined, '2024-07-28T08:55:35.874000Z', 1722156935874000n],
  [T, 1, '2024-07-28T08:55:35.874001Z', 1722156935874001n],
  [T, 999, '2024-07-28T08:55:35.874999Z', 1722156935874999n],
  [0, undefined, '1970-01-01T00:00:00.000000Z', 0n],
  [0, 7, '1970-01-01T00:00:00.000007Z', 7n],
  // Micros lie within insertedAt's millisecond, before the epoch too.
  [-1, undefined, '1969-12-31T23:59:59.999000Z', -1000n],
  [-1, 1, '1969-12-31T23:59:59.999001Z', -999n],
  [Date.parse('9999-12-31T23:59:59.999Z'), 999, '9999-12-31T23:59:59.999999Z', 253402300799999999n],
  [MAX_DATE, 7, '+275760-09-13T00:00:00.000007Z', 8640000000000000007n],
  [-MAX_DATE, undefined, '-271821-04-20T00:00:00.000000Z', -8640000000000000000n]
]

t.test('insertedAtText: UTC, always six fraction digits, over the whole Date range', async (t) => {
  for (const [insertedAt, micros, text] of TIMES) t.equal(insertedAtText(insertedAt, micros), text, `${insertedAt} + ${String(micros)}µs`)
  t.throws(() => insertedAtText(MAX_DATE + 1), RangeError, 'past the Date range: no text to write')
  t.throws(() => insertedAtText(Number.NaN), RangeError)
})

t.test('insertedAtMicros: the exact microseconds since the epoch, past 2^53 too', async (t) => {
  for (const [, , text, microsSinceEpoch] of TIMES) t.equal(insertedAtMicros(text), microsSinceEpoch, text)
})

t.test('insertedAtMicros refuses what insertedAtText never writes', async (t) => {
  for (const text of ['', 'nope', '2024-07-28T08:55:35.874Z', '2024-07-28T08:55:35.8745555Z', '2024-07-28T08:55:35.874555+00:00', '2024-07-28 08:55:35.874555Z', '2024-13-28T08:55:35.874555Z']) {
    t.throws(() => insertedAtMicros(text), { message: `inserted_at must be a UTC time with six fraction digits, as insertedAtText writes it; got ${JSON.stringify(text)}.` }, text)
  }
})
