import type { Metadata, MetadataValue } from '../../schemas/bulk.js'

/**
 * Stored metadata lives in objects without a prototype, so a key such as
 * `__proto__` or `constructor` is an ordinary own property and never reaches
 * `Object.prototype`.
 */
export function emptyMetadata (): Metadata {
  return Object.create(null) as Metadata
}

/**
 * Merges `patch` into `target` in place: a `null` value removes the property.
 * A nested value (only real-time calls send them) is copied, so that neither
 * side ever shares an object with the other.
 */
export function mergeMetadata (target: Metadata, patch: Readonly<Record<string, MetadataValue>>): void {
  for (const key of Object.keys(patch)) {
    const value = patch[key] as MetadataValue
    if (value === null) delete target[key]
    else target[key] = typeof value === 'object' ? structuredClone(value) : value
  }
}

/** A detached copy, safe to hand out of the store. */
export function copyMetadata (source: Readonly<Metadata>): Metadata {
  const copy = emptyMetadata()
  mergeMetadata(copy, source)
  return copy
}
