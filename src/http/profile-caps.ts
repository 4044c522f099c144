import { MAX_METADATA_KEYS, type CompanyRow, type UserRow } from '../../schemas/bulk.js'
import { apiError, excerpt } from '../errors.js'
import type { ProfileKind, ProfileStore } from '../store/store.js'

const NOUN: Readonly<Record<ProfileKind, string>> = { users: 'User', companies: 'Company' }

/** The profile a row is about. */
function idOf (kind: ProfileKind, row: UserRow | CompanyRow): string {
  return kind === 'users' ? (row as UserRow).user_id : (row as CompanyRow).company_id
}

/** Properties a row may add to its profile at most: its keys that are not null. */
function added (metadata: UserRow['metadata']): number {
  let count = 0
  for (const key in metadata) if (metadata[key] !== null) count++
  return count
}

/** Most buckets of the first pass: a 10,000-row request of distinct profiles puts two or three rows in each. */
const MAX_BUCKETS = 4096

/** Buckets for `rows` rows: about one a row (a power of two), so that a small request allocates little. */
export function bucketCount (rows: number): number {
  let count = 1
  while (count < rows && count < MAX_BUCKETS) count *= 2
  return count
}

/** A profile id's bucket of `count` (a power of two), by FNV-1a over its UTF-16 code units: cheap, and spread even for ids that differ in one character. */
export function bucketOf (id: string, count: number): number {
  let hash = 0x811c9dc5
  for (let at = 0; at < id.length; at++) hash = Math.imul(hash ^ id.charCodeAt(at), 16777619)
  return (hash >>> 0) & (count - 1)
}

/**
 * The most properties the rows of any one profile may add: the largest sum
 * over the rows of a bucket of ids, so never less than the true figure (ids
 * sharing a bucket add up). A map keyed by profile id would be exact, but it
 * costs about ten times as much for a 10,000-row request (BENCHMARKS.md
 * section 8), and the exact count is only needed when this bound is near the cap.
 */
function mostAddedBound (kind: ProfileKind, rows: ReadonlyArray<UserRow | CompanyRow>): number {
  const count = bucketCount(rows.length)
  const sums = new Int32Array(count)
  let most = 0
  for (const row of rows) {
    if (row.metadata === undefined) continue
    const at = bucketOf(idOf(kind, row), count)
    const sum = (sums[at] as number) + added(row.metadata)
    sums[at] = sum
    if (sum > most) most = sum
  }
  return most
}

/**
 * Refuses a request whose rows would give one profile more than
 * MAX_METADATA_KEYS properties, merged in order into what it holds: 400
 * `too_many_metadata_keys` naming the profile and the row (`pathOf` its index).
 * Only a profile whose stored properties plus every key its rows send could
 * pass the cap is read and merged in full. When a bound on what any profile's
 * rows add (mostAddedBound) plus the store's bound on every profile's size
 * (largestMetadata) leaves room, nothing more is counted or read.
 */
export async function checkProfileCaps (profiles: ProfileStore, tenant: string, kind: ProfileKind, rows: ReadonlyArray<UserRow | CompanyRow>, pathOf: (index: number) => string): Promise<void> {
  const most = mostAddedBound(kind, rows)
  if (most === 0 || most + await profiles.largestMetadata(tenant, kind) <= MAX_METADATA_KEYS) return
  const bound = new Map<string, number>()
  for (const row of rows) {
    if (row.metadata === undefined) continue
    const id = idOf(kind, row)
    bound.set(id, (bound.get(id) ?? 0) + added(row.metadata))
  }
  const ids = [...bound.keys()]
  const sizes = await profiles.metadataSizes(tenant, kind, ids)
  for (const [index, id] of ids.entries()) {
    const stored = sizes[index] as number
    if (stored + (bound.get(id) as number) <= MAX_METADATA_KEYS) continue
    const profile = kind === 'users' ? await profiles.getUser(tenant, id) : await profiles.getCompany(tenant, id)
    const keys = new Set(Object.keys(profile?.metadata ?? {}))
    for (const [at, row] of rows.entries()) {
      if (row.metadata === undefined || idOf(kind, row) !== id) continue
      for (const key in row.metadata) {
        if (row.metadata[key] === null) keys.delete(key)
        else keys.add(key)
      }
      if (keys.size > MAX_METADATA_KEYS) {
        throw apiError(400, 'too_many_metadata_keys',
          `${NOUN[kind]} ${excerpt(id, 64)} would hold more than ${MAX_METADATA_KEYS} properties (it holds ${stored}). Remove properties it no longer needs (send them as null) before adding new ones.`,
          pathOf(at))
      }
    }
  }
}
