import { eventMatches, type EventFilter, type EventRecord, type EventStore } from './event-store.js'
import { filterIterable, takePage, type Page } from './page.js'
import { RingBuffer } from './ring-buffer.js'

function copyEvent (event: EventRecord): EventRecord {
  return { ...event, metadata: structuredClone(event.metadata) }
}

/** Events in this process: one ring buffer per tenant. */
export class MemoryEvents implements EventStore {
  readonly #tenants = new Map<string, RingBuffer<EventRecord>>()

  /** @param retention events kept per tenant (MOCK_EVENT_RETENTION). */
  constructor (readonly retention: number) {}

  /** Tenants that have sent any event. */
  tenants (): IterableIterator<string> {
    return this.#tenants.keys()
  }

  async append (event: EventRecord): Promise<void> {
    let ring = this.#tenants.get(event.tenant)
    if (ring === undefined) {
      ring = new RingBuffer(this.retention)
      this.#tenants.set(event.tenant, ring)
    }
    ring.push(copyEvent(event))
  }

  async list (tenant: string, filter: EventFilter, page: Page): Promise<EventRecord[]> {
    const ring = this.#tenants.get(tenant)
    if (ring === undefined) return []
    return takePage(filterIterable(ring.newestFirst(), (event) => eventMatches(event, filter)), page).map(copyEvent)
  }

  /** Forgets a tenant's events (every tenant's when null). */
  forget (tenant: string | null): void {
    if (tenant === null) this.#tenants.clear()
    else this.#tenants.delete(tenant)
  }
}
