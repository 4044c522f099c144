import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import type { EventRecord } from '../store/event-store.js'

/**
 * One validated row of a historical import, normalised: it is the event the
 * row becomes (its own `source` and `inserted_at`), without the tenant and
 * the job id, which the job adds when it applies the row.
 */
export type ImportRow = Omit<EventRecord, 'tenant' | 'requestId'>

/** What an `identify_user` row does to the user: merges its metadata and, with a company id, moves it there (as bulk rows do). */
export function importedUser (row: ImportRow): UserRow {
  const metadata = row.metadata as UserRow['metadata']
  return row.companyId === null ? { user_id: row.userId as string, metadata } : { user_id: row.userId as string, company_id: row.companyId, metadata }
}

/** What an `identify_company` row does to the company: only its id and metadata count (SPEC 1.13). */
export function importedCompany (row: ImportRow): CompanyRow {
  return { company_id: row.companyId as string, metadata: row.metadata as CompanyRow['metadata'] }
}
