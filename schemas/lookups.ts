import { Type, type Static, type TArray, type TInteger, type TNull, type TObject, type TSchema, type TString, type TUnion } from '@sinclair/typebox'
import { StringEnum } from './enums.js'

/** Lookups the mock derives from the key's stored state (SPEC 1.14). */
export const DERIVED_LOOKUPS = ['user_properties', 'company_properties', 'features_events', 'events_properties'] as const
/** Lookups of content the mock has none of: empty until a test sets them (PUT /__mock/lookups/:name). */
export const CONTENT_LOOKUPS = ['segments', 'flows', 'banners', 'embeds', 'spotlights', 'surveys', 'resource_center_modules', 'checklists'] as const

export type DerivedLookup = typeof DERIVED_LOOKUPS[number]
export type ContentLookup = typeof CONTENT_LOOKUPS[number]
export type LookupName = DerivedLookup | ContentLookup

/** Most items one content lookup holds: as many as a bulk request's rows. */
export const MAX_LOOKUP_ITEMS = 10_000
/** Page size of the two paginated lookups when `limit` is not given (the docs' example page), and the most one page holds. */
export const LOOKUP_PAGE = { default: 50, max: 1000 } as const

/** The data types a property can have. */
export const DATA_TYPES = ['string', 'number', 'boolean', 'date'] as const
export type DataType = typeof DATA_TYPES[number]

const DataTypeSchema = StringEnum(DATA_TYPES, { description: 'Inferred from the stored values: a JSON number is `number`, a boolean `boolean`, a string that is an ISO 8601 date or date-time `date`, anything else `string`; nulls say nothing; values that disagree make it `string`.' })

const StableId = Type.Integer({ minimum: 1, maximum: 2_147_483_647, description: 'A hash of the name (1 … 2³¹−1): the same name has the same id whatever else the key stored.' })

/** A user or company property, from the metadata keys of the stored profiles. */
export const PropertyItem = Type.Object({
  id: StableId,
  type: StringEnum(['user_property', 'company_property']),
  key: Type.String(),
  display_name: Type.String({ description: 'The key in words: `plan_name` → `Plan Name`.' }),
  data_type: DataTypeSchema,
  is_auto_property: Type.Boolean({ description: 'Always false: every property the mock knows was sent by the client.' })
}, { title: 'PropertyItem', additionalProperties: false })

/** A tracked event name. */
export const FeatureEventItem = Type.Object({
  display_name: Type.String({ description: 'The event name, as tracked.' }),
  key: Type.String({ description: 'The event name, as tracked.' }),
  data_type: Type.Literal('string')
}, { title: 'FeatureEventItem', additionalProperties: false })

/** A property of a tracked event, from the metadata keys of the kept track events. */
export const EventPropertyItem = Type.Object({
  id: StableId,
  key: Type.String(),
  display_name: Type.String({ description: 'The key in words.' }),
  is_auto_property: Type.Boolean(),
  is_mobile_auto_property: Type.Boolean(),
  data_type: DataTypeSchema,
  category: Type.String({ description: '`custom`: sent by the client in a track call.' }),
  description: Type.String(),
  is_archived: Type.Boolean(),
  event: Type.Object({ id: StableId, display_name: Type.String({ description: 'The event name, as tracked.' }) }, { additionalProperties: false }),
  inserted_at: Type.String({ format: 'date-time', description: 'The earliest `inserted_at` of a kept event carrying the property.' }),
  last_seen: Type.String({ format: 'date-time', description: 'The latest `inserted_at` of a kept event carrying the property.' })
}, { title: 'EventPropertyItem', additionalProperties: false })

/** An item of a content lookup: whatever object the test set, answered as it was set. */
export const ContentItem = Type.Record(Type.String(), Type.Unknown(), { title: 'ContentItem' })

type PageMetadata = TObject<{ cursor: TObject<{ after: TUnion<[TString, TNull]>, before: TUnion<[TString, TNull]> }>, limit: TInteger, total_count: TInteger }>

/** The envelope of the two paginated lookups (`segments`, `events_properties`). */
export function Paged<T extends TSchema> (item: T, title: string): TObject<{ data: TArray<T>, metadata: PageMetadata }> {
  return Type.Object({
    data: Type.Array(item),
    metadata: Type.Object({
      cursor: Type.Object({
        after: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `after_cursor` for the next page; null on the last page.' }),
        before: Type.Union([Type.String(), Type.Null()], { description: 'Leads back to the previous page; null on the first.' })
      }, { additionalProperties: false }),
      limit: Type.Integer({ minimum: 1 }),
      total_count: Type.Integer({ minimum: 0, description: 'Items in the whole lookup, not in this page.' })
    }, { additionalProperties: false })
  }, { title, additionalProperties: false })
}

/** The query of the two paginated lookups. */
export const LookupPageQuery = Type.Object({
  after_cursor: Type.Optional(Type.String({ description: '`metadata.cursor.after` (or `before`) of a previous page, as it was given; empty or absent: the first page.' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: LOOKUP_PAGE.max, default: LOOKUP_PAGE.default, description: `Items per page (the mock's choice: ${LOOKUP_PAGE.default} by default, at most ${LOOKUP_PAGE.max}).` }))
})

/** `PUT /__mock/lookups/:name`: the items the content lookup answers from now on. */
export const LookupItemsBody = Type.Array(ContentItem, { maxItems: MAX_LOOKUP_ITEMS, description: `JSON objects, answered in this order (at most ${MAX_LOOKUP_ITEMS}); an empty array clears the lookup.` })

export const LookupNameParams = Type.Object({ name: Type.String({ description: `One of ${CONTENT_LOOKUPS.join(', ')}.` }) })

/** What `PUT /__mock/lookups/:name` answers. */
export const LookupSet = Type.Object({
  name: StringEnum(CONTENT_LOOKUPS),
  items: Type.Integer({ minimum: 0, description: 'How many items the lookup holds now.' })
}, { additionalProperties: false })

export type PropertyItem = Static<typeof PropertyItem>
export type FeatureEventItem = Static<typeof FeatureEventItem>
export type EventPropertyItem = Static<typeof EventPropertyItem>
export type ContentItem = Static<typeof ContentItem>
export type LookupSet = Static<typeof LookupSet>
