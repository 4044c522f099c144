import type { JsonValue } from '../../schemas/bulk.js'
import type { EventType } from '../../schemas/events.js'
import type { Page } from './page.js'

/** One kept event: a real-time identify, company identify or track, with the export schema's fields. */
export interface EventRecord {
  tenant: string
  eventType: EventType
  /** The tracked event's name; empty for identify events, as in the export. */
  eventName: string
  userId: string | null
  companyId: string | null
  metadata: Record<string, JsonValue>
  source: string
  insertedAt: number
  /** The microseconds within `insertedAt`'s millisecond (1–999), present only when an import's timestamp had them. */
  micros?: number
  /** The x-request-id of the request that sent it, or the id of the import job whose file held it. */
  requestId: string
  /** Auto-captured fields, present only when known (page views and web-client rows of an import). */
  hostname?: string
  pathname?: string
  userAgent?: string
}

/** An event with its number: per tenant, events are numbered 1, 2, 3… in the order they were kept. */
export interface NumberedEvent { seq: number, event: EventRecord }

/** Which events a listing keeps: every given field must equal. */
export interface EventFilter {
  userId?: string | undefined
  companyId?: string | undefined
  eventType?: EventType | undefined
  eventName?: string | undefined
}

/** Whether an event passes a filter. */
export function eventMatches (event: EventRecord, filter: EventFilter): boolean {
  return (filter.userId === undefined || event.userId === filter.userId) &&
    (filter.companyId === undefined || event.companyId === filter.companyId) &&
    (filter.eventType === undefined || event.eventType === filter.eventType) &&
    (filter.eventName === undefined || event.eventName === filter.eventName)
}

/**
 * The events of every tenant, newest first, each tenant's kept in a ring of
 * MOCK_EVENT_RETENTION (the oldest go first). Results are detached copies.
 */
export interface EventStore {
  append(event: EventRecord): Promise<void>
  list(tenant: string, filter: EventFilter, page: Page): Promise<EventRecord[]>
  /**
   * The tenant's kept events numbered above `after`, oldest first, at most
   * `limit`: how an export reads them a chunk at a time without holding them
   * all. Events already pushed out of the ring are simply not there.
   */
  scan(tenant: string, after: number, limit: number): Promise<NumberedEvent[]>
  /** The number of the tenant's newest event (0 when it has none): where an export stops. */
  lastSeq(tenant: string): Promise<number>
}
