import type { DataType, EventPropertyItem, FeatureEventItem, PropertyItem } from '../../schemas/lookups.js'
import { iso } from '../jobs/jobs.js'
import type { MockStore } from '../store/store.js'

/** Profiles or events read at a time while deriving a lookup. */
const BATCH = 1000

/** Ids run 1 … 2³¹−1, so that a client keeping them in a signed 32-bit integer reads them right. */
const ID_SPACE = 0x7fffffff

/** 32-bit FNV-1a over the UTF-16 code units: small, and the same in every process. */
function fnv1a (text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/**
 * An id for each of the distinct `names`, from a hash of the name: the same
 * name gets the same id whatever else the key stored and in whatever order it
 * was seen, so a client may keep ids across calls. Names whose hashes collide
 * (about one chance in 4,000 among a thousand names) take the next free id, in
 * code-unit order of the names, so the outcome stays deterministic.
 */
export function stableIds (names: readonly string[]): Map<string, number> {
  const ids = new Map<string, number>()
  const taken = new Set<number>()
  for (const name of [...names].sort()) {
    let id = (fnv1a(name) % ID_SPACE) + 1
    while (taken.has(id)) id = (id % ID_SPACE) + 1
    taken.add(id)
    ids.set(name, id)
  }
  return ids
}

// An ISO 8601 date (2024-07-28), or a date-time with or without seconds, fraction and zone, T or a space between.
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:Z|[+-](\d{2}):?(\d{2}))?)?$/i

/** Whether a string is an ISO 8601 date or date-time that names a real day and time. */
export function isIsoDate (text: string): boolean {
  const match = ISO_DATE.exec(text)
  if (match === null) return false
  const part = (index: number): number => Number(match[index] ?? 0)
  // Date rolls an impossible day over (2023-02-29 becomes March 1st): only a real day comes back unchanged.
  const day = new Date(0)
  day.setUTCFullYear(part(1), part(2) - 1, part(3))
  return day.getUTCMonth() === part(2) - 1 && day.getUTCDate() === part(3) &&
    part(4) < 24 && part(5) < 60 && part(6) < 60 && part(7) < 24 && part(8) < 60
}

/** The data type of one stored value; undefined for null, which says nothing of the type. */
export function dataTypeOf (value: unknown): DataType | undefined {
  if (value === null) return undefined
  if (typeof value === 'number') return 'number'
  if (typeof value === 'boolean') return 'boolean'
  if (typeof value === 'string' && isIsoDate(value)) return 'date'
  // Other strings, and objects or arrays kept from real-time calls (nested_metadata).
  return 'string'
}

/** A key in words, as Userpilot shows its properties: `plan_name` → `Plan Name`. */
export function displayName (key: string): string {
  const words = key.split(/[_\-\s.]+/).filter((word) => word !== '')
  return words.length === 0 ? key : words.map((word) => word.charAt(0).toUpperCase() + word.slice(1)).join(' ')
}

/**
 * The type the values of one key agree on: the first non-null value's type,
 * turned to `string` (which holds any value) as soon as another disagrees;
 * `string` when every value was null.
 */
class TypeOfValues {
  #type: DataType | undefined

  see (value: unknown): void {
    const type = dataTypeOf(value)
    if (type === undefined) return
    this.#type = this.#type === undefined || this.#type === type ? type : 'string'
  }

  get type (): DataType {
    return this.#type ?? 'string'
  }
}

/** Every user's or company's metadata, a batch at a time. */
async function * profileMetadata (store: MockStore, tenant: string, kind: 'user' | 'company'): AsyncGenerator<Record<string, unknown>> {
  // A full batch may have more behind it; a short one is the last.
  for (let offset = 0, full = true; full; offset += BATCH) {
    const page = { limit: BATCH, offset }
    const profiles = kind === 'user' ? await store.profiles.listUsers(tenant, page) : await store.profiles.listCompanies(tenant, page)
    for (const profile of profiles) yield profile.metadata
    full = profiles.length === BATCH
  }
}

/**
 * `user_properties` or `company_properties`: every metadata key the tenant's
 * stored users (or companies) hold, in code-unit order of the keys (an order
 * no profile's history changes), with the type their values agree on.
 */
export async function profileProperties (store: MockStore, tenant: string, kind: 'user' | 'company'): Promise<PropertyItem[]> {
  const keys = new Map<string, TypeOfValues>()
  for await (const metadata of profileMetadata(store, tenant, kind)) {
    for (const [key, value] of Object.entries(metadata)) {
      let values = keys.get(key)
      if (values === undefined) keys.set(key, values = new TypeOfValues())
      values.see(value)
    }
  }
  const type = `${kind}_property` as const
  const names = [...keys.keys()].sort()
  const ids = stableIds(names.map((key) => `${type}:${key}`))
  return names.map((key) => ({
    id: ids.get(`${type}:${key}`) as number,
    type,
    key,
    display_name: displayName(key),
    data_type: (keys.get(key) as TypeOfValues).type,
    is_auto_property: false
  }))
}

/** One property of one tracked event name, as the kept events show it. */
interface TrackedProperty { name: string, key: string, values: TypeOfValues, first: number, last: number }

/** What the kept track events hold: event names and (name, key) pairs, each in order of first sight. */
interface Tracked { names: string[], properties: Map<string, TrackedProperty> }

/** The name of an event property for its id and its place in the map: unambiguous whatever the name and key hold. */
function propertyName (name: string, key: string): string {
  return JSON.stringify([name, key])
}

/**
 * Reads the tenant's kept events oldest first (`scan`, by event number, so
 * events kept meanwhile neither shift nor repeat a batch): first sight is
 * the order events arrived, and new names and keys only ever come last,
 * which keeps a cursor walk over `events_properties` consistent while
 * events come in.
 */
async function trackedEvents (store: MockStore, tenant: string): Promise<Tracked> {
  const names = new Set<string>()
  const properties = new Map<string, TrackedProperty>()
  for (let after = 0; ;) {
    const batch = await store.events.scan(tenant, after, BATCH)
    for (const { event } of batch) {
      if (event.eventType !== 'track') continue
      names.add(event.eventName)
      for (const [key, value] of Object.entries(event.metadata)) {
        const id = propertyName(event.eventName, key)
        let property = properties.get(id)
        if (property === undefined) {
          property = { name: event.eventName, key, values: new TypeOfValues(), first: event.insertedAt, last: event.insertedAt }
          properties.set(id, property)
        }
        property.values.see(value)
        // Imports keep events with their own, older timestamps: first and last are by time, not by arrival.
        property.first = Math.min(property.first, event.insertedAt)
        property.last = Math.max(property.last, event.insertedAt)
      }
    }
    if (batch.length < BATCH) break
    after = (batch.at(-1) as { seq: number }).seq
  }
  return { names: [...names], properties }
}

/** `features_events`: every tracked event name, in order of first sight. */
export async function featuresEvents (store: MockStore, tenant: string): Promise<FeatureEventItem[]> {
  return (await trackedEvents(store, tenant)).names.map((name) => ({ display_name: name, key: name, data_type: 'string' }))
}

/** `events_properties`: every metadata key of every tracked event name, in order of first sight, with when it was first and last seen. */
export async function eventsProperties (store: MockStore, tenant: string): Promise<EventPropertyItem[]> {
  const { names, properties } = await trackedEvents(store, tenant)
  const eventIds = stableIds(names.map((name) => `event:${name}`))
  const propertyIds = stableIds([...properties.keys()].map((id) => `event_property:${id}`))
  return [...properties].map(([id, property]) => ({
    id: propertyIds.get(`event_property:${id}`) as number,
    key: property.key,
    display_name: displayName(property.key),
    is_auto_property: false,
    is_mobile_auto_property: false,
    data_type: property.values.type,
    category: 'custom',
    description: '',
    is_archived: false,
    event: { id: eventIds.get(`event:${property.name}`) as number, display_name: property.name },
    inserted_at: iso(property.first),
    last_seen: iso(property.last)
  }))
}
