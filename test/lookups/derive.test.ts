import t, { type Test } from 'tap'
import { eventPropertyItems, type ExpectedProperty } from '../helpers/lookups.js'
import { dataTypeOf, displayName, eventsProperties, featuresEvents, isIsoDate, profileProperties, stableIds } from '../../src/lookups/derive.js'
import { MemoryStore } from '../../src/store/memory-store.js'
import type { EventRecord } from '../../src/store/store.js'

// How the derived lookups read a key's state: types, names, ids, order, and every profile and event counted.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')
const A = 'tenant-a'
const TOUCH = { kind: 'request', id: 'r1' } as const

function store (t: Test): MemoryStore {
  const made = new MemoryStore({ jobRetention: 10, eventRetention: 5000 })
  t.teardown(() => made.close())
  return made
}

function track (eventName: string, metadata: EventRecord['metadata'], insertedAt: number, fields: Partial<EventRecord> = {}): EventRecord {
  return { tenant: A, eventType: 'track', eventName, userId: 'u1', companyId: null, metadata, source: 'backend-http', insertedAt, requestId: 'r', ...fields }
}

t.test('ISO 8601 dates and date-times', async (t) => {
  for (const date of ['2024-07-28', '2024-02-29', '2000-02-29', '0000-02-29', '2024-07-28T08:55:35Z', '2024-07-28 08:55:35.874555', '2024-07-28T08:55+02:00', '2024-07-28t08:55:35.1-0130', '2024-12-31T23:59:59.999z', '2024-07-28T08:55:35+23:59']) {
    t.ok(isIsoDate(date), date)
  }
  for (const text of ['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-07-00', '2024-07-32', '2024-07-28T24:00', '2024-07-28T08:60', '2024-07-28T08:55:60',
    '2024-07-28T08:55+24:00', '2024-07-28T08:55+01:60', '20240728', '2024-7-28', ' 2024-07-28', '2024-07-28 tomorrow', '2024-07-28T08', '2024-07-28T08:55:35.Z', '']) {
    t.notOk(isIsoDate(text), JSON.stringify(text))
  }
})

t.test('data types of stored values', async (t) => {
  t.equal(dataTypeOf(null), undefined, 'null says nothing')
  t.equal(dataTypeOf(3), 'number')
  t.equal(dataTypeOf(-0.5), 'number')
  t.equal(dataTypeOf(false), 'boolean')
  t.equal(dataTypeOf('pro'), 'string')
  t.equal(dataTypeOf('42'), 'string', 'a number in a string stays a string')
  t.equal(dataTypeOf('2024-07-28T08:55:35Z'), 'date')
  t.equal(dataTypeOf('2024-02-30'), 'string', 'no such day')
  t.equal(dataTypeOf({ nested: true }), 'string', 'objects kept from real-time calls')
  t.equal(dataTypeOf([1, 2]), 'string', 'arrays too')
})

t.test('display names: the key in words', async (t) => {
  t.equal(displayName('email'), 'Email')
  t.equal(displayName('company_name'), 'Company Name')
  t.equal(displayName('signup-date.value'), 'Signup Date Value')
  t.equal(displayName('plan  tier__2'), 'Plan Tier 2')
  t.equal(displayName('firstName'), 'FirstName', 'camelCase is left as one word')
  t.equal(displayName('__'), '__', 'nothing but separators stays as it is')
  t.equal(displayName('ürün adı'), 'Ürün Adı')
})

t.test('stable ids: from the name alone, collisions settled in name order', async (t) => {
  t.strictSame(stableIds(['user_property:email']), new Map([['user_property:email', 2049203406]]), 'the same number in every process and release')
  const forward = stableIds(['a', 'b', 'c'])
  t.strictSame(stableIds(['c', 'a', 'b']), forward, 'the order names come in does not matter')
  t.equal(stableIds(['a', 'zzz', 'yyy']).get('a'), forward.get('a'), 'nor the other names')
  t.equal(new Set(forward.values()).size, 3)
  for (const id of forward.values()) t.ok(Number.isInteger(id) && id >= 1 && id <= 2 ** 31 - 1, `${id} fits a signed 32-bit integer`)
  // These two hash to the same id (found by search); the first in code-unit order keeps it.
  t.strictSame(stableIds(['k32728', 'k261234']), new Map([['k261234', 314835648], ['k32728', 314835649]]))
  t.strictSame(stableIds(['k261234', 'k32728']), new Map([['k261234', 314835648], ['k32728', 314835649]]), 'in either order')
  t.strictSame(stableIds([]), new Map())
})

t.test('user and company properties: every key of every profile, sorted, typed by what the values agree on', async (t) => {
  const mock = store(t)
  t.strictSame(await profileProperties(mock, A, 'user'), [], 'nothing stored')
  // More users than one read, so that the last one (with the only `zeta`) is in a second batch.
  for (let n = 0; n < 1001; n++) {
    const metadata: Record<string, string | number | boolean> = n === 1000 ? { zeta: true, email: 'last@x.io' } : { email: `u${n}@x.io`, seats: n % 2 === 0 ? n : `${n}`, plan: 'pro', signed_up: n === 3 ? 'soon' : '2024-07-28' }
    await mock.profiles.identify(A, { user: { user_id: `u${n}`, metadata } }, TOUCH, T0)
  }
  await mock.profiles.identify(A, { company: { company_id: 'c1', metadata: { company_name: 'Acme', founded: '1999-12-31', employees: 12 } } }, TOUCH, T0)
  await mock.profiles.identify('tenant-b', { user: { user_id: 'u1', metadata: { elsewhere: 1 } } }, TOUCH, T0)
  const ids = stableIds(['email', 'plan', 'seats', 'signed_up', 'zeta'].map((key) => `user_property:${key}`))
  const user = (key: string, displayName: string, dataType: string): unknown => ({ id: ids.get(`user_property:${key}`), type: 'user_property', key, display_name: displayName, data_type: dataType, is_auto_property: false })
  t.strictSame(await profileProperties(mock, A, 'user'), [
    user('email', 'Email', 'string'),
    user('plan', 'Plan', 'string'),
    user('seats', 'Seats', 'string'),
    user('signed_up', 'Signed Up', 'string'),
    user('zeta', 'Zeta', 'boolean')
  ], 'seats mixes numbers and strings, signed_up dates and a word: both string')
  const companyIds = stableIds(['company_name', 'employees', 'founded'].map((key) => `company_property:${key}`))
  t.strictSame(await profileProperties(mock, A, 'company'), [
    { id: companyIds.get('company_property:company_name'), type: 'company_property', key: 'company_name', display_name: 'Company Name', data_type: 'string', is_auto_property: false },
    { id: companyIds.get('company_property:employees'), type: 'company_property', key: 'employees', display_name: 'Employees', data_type: 'number', is_auto_property: false },
    { id: companyIds.get('company_property:founded'), type: 'company_property', key: 'founded', display_name: 'Founded', data_type: 'date', is_auto_property: false }
  ])
  t.not(ids.get('user_property:email'), stableIds(['company_property:email']).get('company_property:email'), 'a user and a company property of one name differ')
})

t.test('features/events and their properties: from track events only, in order of first sight', async (t) => {
  const mock = store(t)
  t.strictSame(await featuresEvents(mock, A), [])
  t.strictSame(await eventsProperties(mock, A), [])
  await mock.events.append(track('Clicked', { button: 'go', count: 1 }, T0 + 5000))
  await mock.events.append(track('', {}, T0, { eventType: 'identify_user', metadata: { plan: 'pro' } }))
  // An imported event, older than the one before it.
  await mock.events.append(track('Viewed', { page: '/a', count: null }, T0 + 1000, { source: 'backend-http-import' }))
  await mock.events.append(track('Clicked', { count: 2, at: '2024-01-01', button: null }, T0))
  await mock.events.append(track('Clicked', { count: 'three', nothing: null }, T0 + 9000))
  await mock.events.append(track('Other tenant', { x: 1 }, T0, { tenant: 'tenant-b' }))
  t.strictSame(await featuresEvents(mock, A), [{ display_name: 'Clicked', key: 'Clicked', data_type: 'string' }, { display_name: 'Viewed', key: 'Viewed', data_type: 'string' }])
  const row = (event: string, key: string, dataType: string, first: number, last: number): ExpectedProperty => ({ event, key, dataType, first, last })
  t.strictSame(await eventsProperties(mock, A), eventPropertyItems(T0, ['Clicked', 'Viewed'], [
    row('Clicked', 'button', 'string', 0, 5000),
    row('Clicked', 'count', 'string', 0, 9000),
    row('Viewed', 'page', 'string', 1000, 1000),
    row('Viewed', 'count', 'string', 1000, 1000),
    row('Clicked', 'at', 'date', 0, 0),
    row('Clicked', 'nothing', 'string', 9000, 9000)
  ]), 'one item per event name and key; a key only ever null is a string; first and last by time, not arrival')
  const ids = (await eventsProperties(mock, A)).map((each) => each.id)
  t.equal(new Set(ids).size, ids.length, 'count of Clicked and count of Viewed have ids of their own')
})

t.test('more kept events than one read: every one counts, and new ones come last', async (t) => {
  const mock = store(t)
  for (let n = 0; n < 2000; n++) await mock.events.append(track(n === 1999 ? 'Last' : 'Each', n === 1999 ? { late: true } : { n }, T0 + n))
  t.strictSame((await featuresEvents(mock, A)).map((item) => item.key), ['Each', 'Last'])
  const properties = await eventsProperties(mock, A)
  t.strictSame(properties.map((item) => [item.event.display_name, item.key, item.data_type, item.last_seen]), [['Each', 'n', 'number', new Date(T0 + 1998).toISOString()], ['Last', 'late', 'boolean', new Date(T0 + 1999).toISOString()]])
})
