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
  /** The x-request-id of the request that sent it. */
  requestId: string
}

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
}
