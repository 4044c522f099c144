import { stableIds } from '../../src/lookups/derive.js'

/** One expected row of `events_properties`. */
export interface ExpectedProperty { event: string, key: string, dataType: string, first: number, last: number }

/**
 * The `events_properties` items the mock should derive, in the given order:
 * ids from the same stable hash of the names, times as ISO text from `t0`.
 */
export function eventPropertyItems (t0: number, events: readonly string[], rows: readonly ExpectedProperty[]): unknown[] {
  const eventIds = stableIds(events.map((name) => `event:${name}`))
  const propertyIds = stableIds(rows.map((row) => `event_property:${JSON.stringify([row.event, row.key])}`))
  return rows.map((row) => ({
    id: propertyIds.get(`event_property:${JSON.stringify([row.event, row.key])}`),
    key: row.key,
    display_name: row.key.charAt(0).toUpperCase() + row.key.slice(1),
    is_auto_property: false,
    is_mobile_auto_property: false,
    data_type: row.dataType,
    category: 'custom',
    description: '',
    is_archived: false,
    event: { id: eventIds.get(`event:${row.event}`), display_name: row.event },
    inserted_at: new Date(t0 + row.first).toISOString(),
    last_seen: new Date(t0 + row.last).toISOString()
  }))
}
