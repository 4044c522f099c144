import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { ContentItem, EventPropertyItem, FeatureEventItem, LOOKUP_PAGE, LookupPageQuery, Paged, PropertyItem, type ContentLookup } from '../../schemas/lookups.js'
import { apiError, excerpt } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { eventsProperties, featuresEvents, profileProperties } from '../lookups/derive.js'

const errors = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
const TAGS = ['Export API']

/** An opaque cursor: the offset of the page it starts, in base64url (`o:<offset>`). */
export function encodeCursor (offset: number): string {
  return Buffer.from(`o:${offset}`).toString('base64url')
}

/** The offset a cursor stands for (0 when there is none); a 400 for one the mock did not give. */
export function decodeCursor (cursor: string | undefined): number {
  if (cursor === undefined || cursor === '') return 0
  // Node decodes base64 leniently, skipping what is not base64: only a cursor that encodes back to itself is one of ours.
  const match = /^o:(0|[1-9]\d{0,8})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  if (match === null || encodeCursor(Number(match[1])) !== cursor) {
    throw apiError(400, 'invalid_cursor', 'after_cursor is not a cursor this API gave: pass metadata.cursor.after of the previous page as it is, or leave it out for the first page.', `after_cursor ${excerpt(cursor, 40)}`)
  }
  return Number(match[1])
}

/** A page of the documented envelope. */
export interface LookupPage<T> {
  data: T[]
  metadata: { cursor: { after: string | null, before: string | null }, limit: number, total_count: number }
}

/** One page of `items`, with cursors to the next page and to the one before (null at either end). */
export function pageOfItems<T> (items: readonly T[], query: { after_cursor?: string | undefined, limit?: number | undefined }): LookupPage<T> {
  // The validator fills the default limit already; this keeps the types honest.
  const limit = query.limit ?? LOOKUP_PAGE.default
  const offset = decodeCursor(query.after_cursor)
  const end = offset + limit
  return {
    data: items.slice(offset, end),
    metadata: {
      cursor: { after: end < items.length ? encodeCursor(end) : null, before: offset > 0 ? encodeCursor(Math.max(0, offset - limit)) : null },
      limit,
      total_count: items.length
    }
  }
}

/** What each plain-array content lookup holds, for its description. */
const CONTENT: ReadonlyArray<[Exclude<ContentLookup, 'segments'>, string]> = [
  ['flows', 'Get flows (experiences)'],
  ['banners', 'Get banners'],
  ['embeds', 'Get embeds'],
  ['spotlights', 'Get spotlights'],
  ['surveys', 'Get surveys (with modules)'],
  ['resource_center_modules', 'Get resource center modules'],
  ['checklists', 'Get checklists (with tasks)']
]

/**
 * `GET /api/v1/analytics/exports/lookups/…`: the twelve lookups of the Export
 * API, per key. Properties and events are derived from what the key stored;
 * the content lookups answer what a test set through `PUT /__mock/lookups/:name`.
 */
export const lookups: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock

  for (const kind of ['user', 'company'] as const) {
    app.get(`/lookups/${kind}_properties`, {
      schema: {
        tags: TAGS,
        summary: `Get ${kind} properties`,
        description: `Every metadata key the key's stored ${kind === 'user' ? 'users' : 'companies'} hold, in code-unit order of the keys, with the data type their values agree on.`,
        response: { 200: Type.Array(PropertyItem), ...errors }
      }
    }, async (request) => await profileProperties(store, tenantOfRequest(request).id, kind))
  }

  app.get('/lookups/features_events', {
    schema: {
      tags: TAGS,
      summary: 'Get features & events',
      description: 'Every event name among the key\'s kept track events, in the order they were first tracked.',
      response: { 200: Type.Array(FeatureEventItem), ...errors }
    }
  }, async (request) => await featuresEvents(store, tenantOfRequest(request).id))

  app.get('/lookups/events_properties', {
    schema: {
      tags: TAGS,
      summary: 'Get trackable events\' properties/attributes (paginated)',
      description: 'Every metadata key of every event name among the key\'s kept track events, in the order first seen, a page at a time: pass `metadata.cursor.after` as `after_cursor` for the next.',
      querystring: LookupPageQuery,
      response: { 200: Paged(EventPropertyItem, 'EventPropertyPage'), ...errors }
    }
  }, async (request) => pageOfItems(await eventsProperties(store, tenantOfRequest(request).id), request.query))

  app.get('/lookups/segments', {
    schema: {
      tags: TAGS,
      summary: 'Get segments',
      description: 'The segments a test set with `PUT /__mock/lookups/segments` (empty until then), a page at a time: pass `metadata.cursor.after` as `after_cursor` for the next.',
      querystring: LookupPageQuery,
      response: { 200: Paged(ContentItem, 'SegmentPage'), ...errors }
    }
  }, async (request) => pageOfItems(await store.lookups.get(tenantOfRequest(request).id, 'segments'), request.query))

  for (const [name, summary] of CONTENT) {
    app.get(`/lookups/${name}`, {
      schema: {
        tags: TAGS,
        summary,
        description: `The items a test set with \`PUT /__mock/lookups/${name}\`, as set; empty until then.`,
        response: { 200: Type.Array(ContentItem), ...errors }
      }
    }, async (request) => await store.lookups.get(tenantOfRequest(request).id, name))
  }
}
