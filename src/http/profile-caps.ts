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

/**
 * Refuses a request whose rows would give one profile more than
 * MAX_METADATA_KEYS properties, merged in order into what it holds: 400
 * `too_many_metadata_keys` naming the profile and the row (`pathOf` its index).
 * Only a profile whose stored properties plus every key its rows send could
 * pass the cap is read and merged in full, so a request of small profiles
 * costs one count per row and one read of the sizes — or no read at all when
 * the store's bound on every profile's size (largestMetadata) leaves room.
 */
export async function checkProfileCaps (profiles: ProfileStore, tenant: string, kind: ProfileKind, rows: ReadonlyArray<UserRow | CompanyRow>, pathOf: (index: number) => string): Promise<void> {
  const bound = new Map<string, number>()
  let most = 0
  for (const row of rows) {
    if (row.metadata === undefined) continue
    const id = idOf(kind, row)
    const sum = (bound.get(id) ?? 0) + added(row.metadata)
    bound.set(id, sum)
    if (sum > most) most = sum
  }
  if (bound.size === 0 || most + await profiles.largestMetadata(tenant, kind) <= MAX_METADATA_KEYS) return
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
