import type { ContentItem, ContentLookup } from '../../schemas/lookups.js'

/** The items of the content lookups (segments, flows, …) a test set, per tenant. */
export interface LookupStore {
  /** Replaces a lookup's items (an empty list clears it). */
  set(tenant: string, name: ContentLookup, items: readonly ContentItem[]): Promise<void>
  /** A lookup's items, in the order set; empty when none were. */
  get(tenant: string, name: ContentLookup): Promise<ContentItem[]>
}
