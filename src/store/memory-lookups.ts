import type { ContentItem, ContentLookup } from '../../schemas/lookups.js'
import type { LookupStore } from './lookup-store.js'

/** Content lookups in this process. */
export class MemoryLookups implements LookupStore {
  readonly #tenants = new Map<string, Map<ContentLookup, ContentItem[]>>()

  /** Tenants that set any lookup. */
  tenants (): IterableIterator<string> {
    return this.#tenants.keys()
  }

  async set (tenant: string, name: ContentLookup, items: readonly ContentItem[]): Promise<void> {
    let lookups = this.#tenants.get(tenant)
    if (lookups === undefined) {
      lookups = new Map()
      this.#tenants.set(tenant, lookups)
    }
    lookups.set(name, structuredClone([...items]))
  }

  async get (tenant: string, name: ContentLookup): Promise<ContentItem[]> {
    return structuredClone(this.#tenants.get(tenant)?.get(name) ?? [])
  }

  /** Forgets a tenant's lookups (every tenant's when null). */
  forget (tenant: string | null): void {
    if (tenant === null) this.#tenants.clear()
    else this.#tenants.delete(tenant)
  }
}
