import type { CompanyRow, Metadata, UserRow } from '../../schemas/bulk.js'
import type { Page } from './page.js'

/** What last changed a profile: a bulk job (its id) or a real-time request (its request id). */
export interface Touch {
  readonly kind: 'job' | 'request'
  readonly id: string
}

/** A user profile as the store keeps it. */
export interface StoredUser {
  userId: string
  companyId: string | null
  metadata: Metadata
  createdAt: number
  updatedAt: number
  lastTouch: Touch
  /** When a `DELETE /v1/users` request will have the profile forgotten; null when none is pending. */
  deletionScheduledAt: number | null
}

/** A company as the store keeps it; its user count is derived from the users, never stored with it. */
export interface StoredCompany {
  companyId: string
  metadata: Metadata
  createdAt: number
  updatedAt: number
  lastTouch: Touch
  /** When a `DELETE /v1/companies` request will have the company forgotten; null when none is pending. */
  deletionScheduledAt: number | null
}

/** A company with the number of users that belong to it now. */
export interface CompanyView extends StoredCompany {
  userCount: number
}

/** The two kinds of profile, named as the API's collections. */
export type ProfileKind = 'users' | 'companies'

/** A deletion waiting for its time. */
export interface ScheduledDeletion {
  kind: ProfileKind
  id: string
  dueAt: number
}

/**
 * The order deletions are listed in: soonest first, then users before
 * companies, then by id in code-unit order (as `<` compares, not the
 * locale's), so that every process lists them alike. Ids of one kind are unique.
 */
export function compareDeletions (a: ScheduledDeletion, b: ScheduledDeletion): number {
  return (a.dueAt - b.dueAt) || (KIND_ORDER[a.kind] - KIND_ORDER[b.kind]) || (a.id < b.id ? -1 : 1)
}

const KIND_ORDER: Readonly<Record<ProfileKind, number>> = { users: 0, companies: 1 }

/** Profiles forgotten by a run of the due deletions. */
export interface DeletionCount { users: number, companies: number }

/**
 * Users and companies of every tenant: read by the control API, written by
 * bulk jobs (through the job store, which applies rows in the same atomic
 * step that takes them off the job) and by real-time calls, forgotten by
 * deletions. Results are detached copies.
 */
export interface ProfileStore {
  getUser(tenant: string, userId: string): Promise<StoredUser | undefined>
  /** The tenant's users in the order they were first identified, optionally only one company's. */
  listUsers(tenant: string, page: Page, filter?: { companyId?: string | undefined }): Promise<StoredUser[]>
  getCompany(tenant: string, companyId: string): Promise<CompanyView | undefined>
  /** The tenant's companies in the order they were first identified. */
  listCompanies(tenant: string, page: Page): Promise<CompanyView[]>
  /**
   * A real-time identify as one atomic step: the company (when given) is
   * merged first, then the user, whose `company_id` (when given) moves it.
   * Returns the user's company afterwards (without a user: the company's id).
   */
  identify(tenant: string, change: { user?: UserRow | undefined, company?: CompanyRow | undefined }, touch: Touch, at: number): Promise<string | null>
  /**
   * Marks the profiles that exist among `ids` for deletion at `dueAt` (a
   * profile already marked keeps the sooner of the two times); returns how
   * many it marked.
   */
  scheduleDeletions(tenant: string, kind: ProfileKind, ids: readonly string[], dueAt: number): Promise<number>
  /** The tenant's pending deletions, in {@link compareDeletions} order. */
  listDeletions(tenant: string, page: Page): Promise<ScheduledDeletion[]>
  /**
   * Forgets every profile whose deletion is due by `dueBy` (of one tenant, or
   * all): a deleted company leaves its users without a company.
   */
  runDeletions(tenant: string | null, dueBy: number): Promise<DeletionCount>
  /** Whether any deletion is pending, in any tenant. */
  hasDeletions(): Promise<boolean>
  /** No profile of this kind holds more metadata properties than this (MAX_METADATA_KEYS when the store keeps no such bound). */
  largestMetadata(tenant: string, kind: ProfileKind): Promise<number>
  /** How many metadata properties each profile of `ids` holds (0 for one that does not exist). */
  metadataSizes(tenant: string, kind: ProfileKind, ids: readonly string[]): Promise<number[]>
}
