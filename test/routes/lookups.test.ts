import t from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { ContentItem, EventPropertyItem, FeatureEventItem, LookupSet, Paged, PropertyItem } from '../../schemas/lookups.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { auth, KEY } from '../helpers/app.js'
import { tenantOf } from '../../src/tenant.js'
import { CLOCK_START, control, expectErrors, expectOk, invalid } from '../helpers/http.js'
import { appBackends } from '../helpers/store.js'
import { decodeCursor, encodeCursor, pageOfItems } from '../../src/routes/lookups.js'
import { stableIds } from '../../src/lookups/derive.js'
import { eventPropertyItems } from '../helpers/lookups.js'
import type { ApiError } from '../../src/errors.js'

// The twelve lookups of the Export API: derived from what the key stored, or set by a test.

const REALTIME = { ...auth(), 'content-type': 'application/json', 'x-api-version': '2020-09-22' }
const PLAIN_CONTENT = ['flows', 'banners', 'embeds', 'spotlights', 'surveys', 'resource_center_modules', 'checklists']
const ALL_LOOKUPS = ['user_properties', 'company_properties', 'segments', 'features_events', 'events_properties', ...PLAIN_CONTENT]
const BAD_CURSOR = 'after_cursor is not a cursor this API gave: pass metadata.cursor.after of the previous page as it is, or leave it out for the first page.'
const EventPropertyPage = Paged(EventPropertyItem, 'EventPropertyPage')
const SegmentPage = Paged(ContentItem, 'SegmentPage')

function lookup (app: FastifyInstance, name: string, query = '', headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/api/v1/analytics/exports/lookups/${name}${query}`, headers })
}

function setLookup (app: FastifyInstance, name: string, items: unknown, query = ''): Promise<LightMyRequestResponse> {
  return control(app, 'PUT', `/lookups/${name}${query}`, { payload: items })
}

async function send (app: FastifyInstance, path: string, body: Record<string, unknown>): Promise<void> {
  const res = await app.inject({ method: 'POST', url: path, headers: REALTIME, payload: body })
  if (res.statusCode !== 202) throw new Error(res.body)
}

/** The status and error code `work` throws with. */
function refusal (work: () => unknown): [number, string | undefined] | 'none' {
  try {
    work()
    return 'none'
  } catch (error) {
    return [(error as ApiError).statusCode, (error as ApiError).entries[0]?.error_code]
  }
}

t.test('cursors: opaque offsets, and only the ones the API gave', async (t) => {
  t.equal(encodeCursor(0), 'bzow')
  for (const offset of [0, 1, 50, 999_999_999]) t.equal(decodeCursor(encodeCursor(offset)), offset, `${offset} round-trips`)
  t.equal(decodeCursor(undefined), 0, 'no cursor: the first page')
  t.equal(decodeCursor(''), 0, 'an empty one too')
  for (const bad of ['bogus', `${encodeCursor(2)}!`, `${encodeCursor(2)}=`, ' bzoy', Buffer.from('o:01').toString('base64url'), Buffer.from('o:-1').toString('base64url'), Buffer.from('o:1000000000').toString('base64url'), Buffer.from('x:1').toString('base64url')]) {
    t.strictSame(refusal(() => decodeCursor(bad)), [400, 'invalid_cursor'], JSON.stringify(bad))
  }
  t.strictSame(pageOfItems([1, 2, 3], {}), { data: [1, 2, 3], metadata: { cursor: { after: null, before: null }, limit: 50, total_count: 3 } }, 'the default limit')
  t.strictSame(pageOfItems([1, 2, 3, 4, 5], { limit: 2, after_cursor: encodeCursor(1) }), { data: [2, 3], metadata: { cursor: { after: encodeCursor(3), before: encodeCursor(0) }, limit: 2, total_count: 5 } }, 'before never goes below the start')
  t.strictSame(pageOfItems([1, 2], { limit: 2, after_cursor: encodeCursor(9) }), { data: [], metadata: { cursor: { after: null, before: encodeCursor(7) }, limit: 2, total_count: 2 } }, 'past the end: an empty page')
})

for (const backend of appBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('a new key: every lookup empty, each in its documented shape', async (t) => {
      const { app } = await backend.app(t)
      const empty = { data: [], metadata: { cursor: { after: null, before: null }, limit: 50, total_count: 0 } }
      for (const name of ALL_LOOKUPS) {
        const res = await lookup(app, name)
        t.strictSame(expectOk(t, res, Type.Any()), name === 'segments' || name === 'events_properties' ? empty : [], name)
      }
    })

    t.test('user and company properties: every stored key, sorted, with its type', async (t) => {
      const { app } = await backend.app(t)
      await send(app, '/v1/identify', { user_id: 'u1', metadata: { email: 'a@b.c', seats: 3, signed_up_at: '2024-07-28T08:55:35Z' } })
      await send(app, '/v1/identify', { user_id: 'u2', metadata: { seats: 'many', trial: true, email: null } })
      await send(app, '/v1/identify', { user_id: 'u1', metadata: { age: 40 }, company: { id: 'c1', company_name: 'Acme' } })
      await send(app, '/v1/companies/identify', { company_id: 'c2', metadata: { renewal: '2026-01-31', company_name: 'Beta' } })
      const ids = stableIds(['age', 'email', 'seats', 'signed_up_at', 'trial'].map((key) => `user_property:${key}`))
      const user = (key: string, displayName: string, dataType: string): unknown => ({ id: ids.get(`user_property:${key}`), type: 'user_property', key, display_name: displayName, data_type: dataType, is_auto_property: false })
      t.strictSame(expectOk(t, await lookup(app, 'user_properties'), Type.Array(PropertyItem)), [
        user('age', 'Age', 'number'),
        user('email', 'Email', 'string'),
        user('seats', 'Seats', 'string'),
        user('signed_up_at', 'Signed Up At', 'date'),
        user('trial', 'Trial', 'boolean')
      ], 'seats holds a number and a string: string; a key added later by an earlier user still sorts in')
      const companyIds = stableIds(['company_property:company_name', 'company_property:renewal'])
      t.strictSame(expectOk(t, await lookup(app, 'company_properties'), Type.Array(PropertyItem)), [
        { id: companyIds.get('company_property:company_name'), type: 'company_property', key: 'company_name', display_name: 'Company Name', data_type: 'string', is_auto_property: false },
        { id: companyIds.get('company_property:renewal'), type: 'company_property', key: 'renewal', display_name: 'Renewal', data_type: 'date', is_auto_property: false }
      ])
      t.strictSame((await lookup(app, 'user_properties', '', auth('other-key'))).json(), [], 'per key')
      const before = (await lookup(app, 'user_properties')).json()
      await send(app, '/v1/identify', { user_id: 'u0', metadata: { aardvark: 1 } })
      const after = (await lookup(app, 'user_properties')).json() as Array<{ key: string, id: number }>
      t.strictSame(after.filter((item) => item.key !== 'aardvark'), before, 'a new key changes no other id')
    })

    t.test('features/events and their properties, from the kept track events; events_properties paginated', async (t) => {
      const { app, clock } = await backend.app(t, { MOCK_CLOCK: 'manual' })
      await send(app, '/v1/track', { user_id: 'u1', event_name: 'Clicked', metadata: { button: 'go', count: 1 } })
      await clock.advance(1000)
      await send(app, '/v1/track', { user_id: 'u1', event_name: 'Viewed', metadata: { page: '/a' } })
      await send(app, '/v1/track', { user_id: 'u1', event_name: 'Clicked', metadata: { count: 2, at: '2024-01-01' } })
      await send(app, '/v1/identify', { user_id: 'u1', metadata: { not: 'an event property' } })
      t.strictSame(expectOk(t, await lookup(app, 'features_events'), Type.Array(FeatureEventItem)), [{ display_name: 'Clicked', key: 'Clicked', data_type: 'string' }, { display_name: 'Viewed', key: 'Viewed', data_type: 'string' }])
      const [button, count, page, at] = eventPropertyItems(CLOCK_START, ['Clicked', 'Viewed'], [
        { event: 'Clicked', key: 'button', dataType: 'string', first: 0, last: 0 },
        { event: 'Clicked', key: 'count', dataType: 'number', first: 0, last: 1000 },
        { event: 'Viewed', key: 'page', dataType: 'string', first: 1000, last: 1000 },
        { event: 'Clicked', key: 'at', dataType: 'date', first: 1000, last: 1000 }
      ])
      const first = expectOk<{ metadata: { cursor: { after: string } } }>(t, await lookup(app, 'events_properties', '?limit=2'), EventPropertyPage)
      t.strictSame(first, { data: [button, count], metadata: { cursor: { after: encodeCursor(2), before: null }, limit: 2, total_count: 4 } })
      const second = expectOk<{ metadata: { cursor: { before: string } } }>(t, await lookup(app, 'events_properties', `?limit=2&after_cursor=${first.metadata.cursor.after}`), EventPropertyPage)
      t.strictSame(second, { data: [page, at], metadata: { cursor: { after: null, before: encodeCursor(0) }, limit: 2, total_count: 4 } })
      t.strictSame((await lookup(app, 'events_properties', `?limit=2&after_cursor=${second.metadata.cursor.before}`)).json(), first, 'before leads back to the first page')
      await send(app, '/v1/track', { user_id: 'u1', event_name: 'Added', metadata: { sku: 'x' } })
      t.strictSame((await lookup(app, 'events_properties', `?limit=2&after_cursor=${first.metadata.cursor.after}`)).json().data.map((each: { key: string }) => each.key), ['page', 'at'], 'what came meanwhile comes last: the walk stays consistent')
      t.equal((await lookup(app, 'events_properties', '?after_cursor=')).json().metadata.total_count, 5, 'an empty cursor: the first page')
      t.strictSame((await lookup(app, 'events_properties', '', auth('other-key'))).json().data, [], 'per key')
    })

    t.test('bad pages: the envelope, never a 500', async (t) => {
      const { app } = await backend.app(t)
      for (const name of ['events_properties', 'segments']) {
        expectErrors(t, await lookup(app, name, '?after_cursor=bogus'), 400, [invalid('invalid_cursor', BAD_CURSOR, 'after_cursor "bogus"')])
        expectErrors(t, await lookup(app, name, `?after_cursor=${'x'.repeat(500)}`), 400, [invalid('invalid_cursor', BAD_CURSOR, `after_cursor "${'x'.repeat(40)}…"`)])
        for (const limit of ['0', '1001', 'ten', '2.5']) {
          const res = await lookup(app, name, `?limit=${limit}`)
          t.equal(res.statusCode, 400, `limit=${limit}`)
          t.match(res.json(), { errors: [{ error: 'invalid_request', details: 'querystring/limit' }] })
        }
        t.equal((await lookup(app, name, '?limit=1000')).json().metadata.limit, 1000, 'at most 1000 a page')
      }
    })

    t.test('content lookups: empty until set, answered as set, per key; reset forgets them', async (t) => {
      const { app } = await backend.app(t)
      for (const name of PLAIN_CONTENT) {
        const items = [{ id: 1, title: `${name} one` }, { display_name: 'ü "two"', key: 'two', data_type: 'string', nested: { deep: [1, null, { x: false }] } }]
        t.strictSame(expectOk(t, await setLookup(app, name, items), LookupSet), { name, items: 2 })
        t.strictSame(expectOk(t, await lookup(app, name), Type.Array(ContentItem)), items, `${name} answers what was set`)
      }
      const segments = Array.from({ length: 3 }, (_, i) => ({ id: 101 + i, title: `Segment ${i}`, usage: 'all', category: 'user_id', is_hidden: false, is_protected: false, status: 'published' }))
      t.strictSame((await setLookup(app, 'segments', segments)).json(), { name: 'segments', items: 3 })
      const page = expectOk<{ metadata: { cursor: { after: string } } }>(t, await lookup(app, 'segments', '?limit=2'), SegmentPage)
      t.strictSame(page, { data: segments.slice(0, 2), metadata: { cursor: { after: encodeCursor(2), before: null }, limit: 2, total_count: 3 } })
      t.strictSame((await lookup(app, 'segments', `?limit=2&after_cursor=${page.metadata.cursor.after}`)).json(), { data: segments.slice(2), metadata: { cursor: { after: null, before: encodeCursor(0) }, limit: 2, total_count: 3 } })
      t.strictSame((await lookup(app, 'segments')).json().data, segments, 'fifty a page by default')
      t.strictSame((await lookup(app, 'flows', '', auth('other-key'))).json(), [], 'per key')
      await setLookup(app, 'flows', [])
      t.strictSame((await lookup(app, 'flows')).json(), [], 'an empty list clears it')
      await setLookup(app, 'banners', [{ id: 1, title: 'Replaced' }])
      t.strictSame((await lookup(app, 'banners')).json(), [{ id: 1, title: 'Replaced' }], 'a set replaces the list')
      await control(app, 'PUT', '/lookups/flows', { key: 'other-key', payload: [{ id: 'theirs' }] })
      t.equal((await control(app, 'POST', '/reset')).statusCode, 200)
      t.strictSame((await lookup(app, 'segments')).json().data, [], 'reset forgets them')
      for (const name of PLAIN_CONTENT) t.strictSame((await lookup(app, name)).json(), [], `${name} forgotten`)
      t.strictSame((await lookup(app, 'flows', '', auth('other-key'))).json(), [{ id: 'theirs' }], 'another key keeps its own')
      await control(app, 'POST', '/reset?all=1', { key: null })
      t.strictSame((await lookup(app, 'flows', '', auth('other-key'))).json(), [], '?all=1 forgets every key\'s')
    })

    t.test('setting: only content lookups, only arrays of objects, one key at a time', async (t) => {
      const { app } = await backend.app(t)
      for (const name of ['user_properties', 'company_properties', 'features_events', 'events_properties']) {
        expectErrors(t, await setLookup(app, name, []), 400, [invalid('derived_lookup', `The ${name} lookup is derived from what this key stored (profiles and track events): send those instead of setting it.`, `name ${name}`)])
      }
      const unknown = (name: string): ErrorEntry[] => [{ error: 'not_found', error_code: 'unknown_lookup', message: `No lookup is named ${name}; these can be set: segments, flows, banners, embeds, spotlights, surveys, resource_center_modules, checklists.`, details: `name ${name}` }]
      expectErrors(t, await setLookup(app, 'tours', []), 404, unknown('"tours"'))
      expectErrors(t, await setLookup(app, 'tours', 'not even an array'), 404, unknown('"tours"'))
      expectErrors(t, await setLookup(app, 'Flows', []), 404, unknown('"Flows"'))
      const body = (message: string, details = 'body'): ErrorEntry[] => [invalid('invalid_body', message, details)]
      expectErrors(t, await setLookup(app, 'flows', { id: 1 }), 400, body('The body: Expected array.'))
      expectErrors(t, await setLookup(app, 'flows', [{ id: 1 }, 'two']), 400, body('Body field /1: Expected object.', 'body/1'))
      expectErrors(t, await setLookup(app, 'flows', [[1]]), 400, body('Body field /0: Expected object.', 'body/0'))
      expectErrors(t, await setLookup(app, 'flows', [null]), 400, body('Body field /0: Expected object.', 'body/0'))
      expectErrors(t, await setLookup(app, 'flows', Array.from({ length: 10_001 }, () => ({}))), 400, body('The body: Expected array length to be less or equal to 10000.'))
      t.strictSame((await setLookup(app, 'flows', Array.from({ length: 10_000 }, (_, id) => ({ id })))).json(), { name: 'flows', items: 10_000 }, 'ten thousand are fine')
      expectErrors(t, await control(app, 'PUT', '/lookups/flows?all=1', { key: null, payload: [] }), 400, [invalid('key_required', 'Lookups belong to one API key: send its "Authorization: Token <key>" instead of ?all=1.', 'query all')])
      t.equal((await lookup(app, 'flows')).json().length, 10_000, 'nothing set by the refused calls')
    })

    t.test('the key is required, the call journaled, unknown lookups 404', async (t) => {
      const { app } = await backend.app(t)
      for (const name of ALL_LOOKUPS) {
        const res = await lookup(app, name, '', {})
        t.equal(res.statusCode, 401, `${name} needs the key`)
        t.match(res.json(), { errors: [{ error: 'unauthorized' }] })
      }
      t.equal((await lookup(app, 'checklists')).statusCode, 200)
      t.equal((await lookup(app, 'tours')).statusCode, 404, 'no such lookup')
      const journal = (await control(app, 'GET', '/requests')).json() as Array<{ method: string, path: string, status: number }>
      t.match(journal.slice(0, 2), [{ method: 'GET', path: '/api/v1/analytics/exports/lookups/tours', status: 404 }, { method: 'GET', path: '/api/v1/analytics/exports/lookups/checklists', status: 200 }], 'journaled, newest first')
    })

    t.test('more kept events than one read: every one counts', async (t) => {
      const { app } = await backend.app(t)
      const tenant = tenantOf(KEY).id
      for (let n = 0; n < 1001; n++) await app.mock.store.events.append({ tenant, eventType: 'track', eventName: n === 1000 ? 'Last' : 'Each', userId: 'u1', companyId: null, metadata: n === 1000 ? { late: true } : {}, source: 'backend-http', insertedAt: CLOCK_START, requestId: `r${n}` })
      t.strictSame((await lookup(app, 'features_events')).json().map((item: { key: string }) => item.key), ['Each', 'Last'])
      t.strictSame((await lookup(app, 'events_properties')).json().data.map((item: { key: string }) => item.key), ['late'])
    })
  })
}

t.test('the OpenAPI document lists the twelve lookups under Export API', async (t) => {
  const [backend] = appBackends()
  const { app } = await (backend as ReturnType<typeof appBackends>[number]).app(t)
  const paths = (await app.inject({ method: 'GET', url: '/documentation/json' })).json().paths as Record<string, { get?: { tags: string[] }, put?: { tags: string[] } }>
  for (const name of ALL_LOOKUPS) t.strictSame(paths[`/api/v1/analytics/exports/lookups/${name}`]?.get?.tags, ['Export API'], name)
  t.strictSame(paths['/__mock/lookups/{name}']?.put?.tags, ['Mock control'])
})
