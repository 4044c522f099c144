import { eventMatches, type EventFilter, type EventRecord, type EventStore, type NumberedEvent } from './event-store.js'
import { filterIterable, takePage, type Page } from './page.js'
import { RingBuffer } from './ring-buffer.js'

function copyEvent (event: EventRecord): EventRecord {
  return { ...event, metadata: structuredClone(event.metadata) }
}

/** A tenant's ring and the number of its newest event. */
interface TenantEvents { ring: RingBuffer<NumberedEvent>, last: number }

/** Events in this process: one ring buffer per tenant. */
export class MemoryEvents implements EventStore {
  readonly #tenants = new Map<string, TenantEvents>()

  /** @param retention events kept per tenant (MOCK_EVENT_RETENTION). */
  constructor (readonly retention: number) {}

  /** Tenants that have sent any event. */
  tenants (): IterableIterator<string> {
    return this.#tenants.keys()
  }

  async append (event: EventRecord): Promise<void> {
    this.push(event)
  }

  /** Appends at once: what the memory store calls while it applies an import's rows, with no await in between. */
  push (event: EventRecord): void {
    let state = this.#tenants.get(event.tenant)
    if (state === undefined) {
      state = { ring: new RingBuffer(this.retention), last: 0 }
      this.#tenants.set(event.tenant, state)
    }
    state.ring.push({ seq: ++state.last, event: copyEvent(event) })
  }

  async list (tenant: string, filter: EventFilter, page: Page): Promise<EventRecord[]> {
    const ring = this.#tenants.get(tenant)?.ring
    if (ring === undefined) return []
    const events = (function * () { for (const each of ring.newestFirst()) yield each.event })()
    return takePage(filterIterable(events, (event) => eventMatches(event, filter)), page).map(copyEvent)
  }

  async scan (tenant: string, after: number, limit: number): Promise<NumberedEvent[]> {
    const state = this.#tenants.get(tenant)
    if (state === undefined) return []
    // Numbers in the ring run without gaps up to `last`, so the first wanted one sits at a known place.
    const oldest = state.last - state.ring.size + 1
    const found: NumberedEvent[] = []
    for (const each of state.ring.oldestFirst(Math.max(0, after + 1 - oldest))) {
      if (found.length >= limit) break
      found.push({ seq: each.seq, event: copyEvent(each.event) })
    }
    return found
  }

  async lastSeq (tenant: string): Promise<number> {
    return this.#tenants.get(tenant)?.last ?? 0
  }

  /** Forgets a tenant's events (every tenant's when null). */
  forget (tenant: string | null): void {
    if (tenant === null) this.#tenants.clear()
    else this.#tenants.delete(tenant)
  }
}
