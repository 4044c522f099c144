import { MAX_METADATA_KEYS, type Metadata, type MetadataValue } from '../../schemas/bulk.js'

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
 * side ever shares an object with the other. A profile holds at most
 * MAX_METADATA_KEYS properties: requests that would pass it are refused
 * (profile-caps.ts), and a new key beyond it is not added here, should rows
 * accepted earlier meet a profile that filled up meanwhile. Returns the
 * properties `target` holds when a new key was added, else -1 (it holds no more than before).
 */
export function mergeMetadata (target: Metadata, patch: Readonly<Record<string, MetadataValue>>): number {
  // Counted only when a new key arrives: updates of known keys cost nothing more.
  let size = -1
  // for…in, not Object.keys: no array per row (a patch is a parsed body's own plain object or stored metadata).
  for (const key in patch) {
    const value = patch[key] as MetadataValue
    const known = key in target
    if (value === null) {
      if (known && size >= 0) size--
      delete target[key]
      continue
    }
    // The same value again (clients resend every trait each time) keeps the stored one: the
    // new copy dies young instead of the old one dying late, which costs the old generation.
    if (known && target[key] === value) continue
    if (!known) {
      if (size < 0) size = Object.keys(target).length
      if (size >= MAX_METADATA_KEYS) continue
      size++
    }
    target[key] = typeof value === 'object' ? structuredClone(value) : value
  }
  return size
}

/** A detached copy, safe to hand out of the store. */
export function copyMetadata (source: Readonly<Metadata>): Metadata {
  const copy = emptyMetadata()
  mergeMetadata(copy, source)
  return copy
}
