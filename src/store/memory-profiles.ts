import type { CompanyRow, UserRow } from '../../schemas/bulk.js'
import { copyMetadata, emptyMetadata, mergeMetadata } from './metadata.js'
import { filterIterable, takePage, type Page } from './page.js'
import { compareDeletions, type CompanyView, type DeletionCount, type ProfileKind, type ProfileStore, type ScheduledDeletion, type StoredCompany, type StoredUser, type Touch } from './profile-store.js'

/** A profile record as kept: the pending deletion lives beside it, in the tenant's schedule. */
type UserRecord = Omit<StoredUser, 'deletionScheduledAt'>
type CompanyRecord = Omit<StoredCompany, 'deletionScheduledAt'>

interface TenantProfiles {
  users: Map<string, UserRecord>
  companies: Map<string, CompanyRecord>
  /**
   * Users per company id: an index derived from `users`, changed only where a
   * user's company changes, so a company's count is never stored twice.
   */
  members: Map<string, number>
  /** Pending deletions: due time by id, per kind. */
  deletions: Record<ProfileKind, Map<string, number>>
  /** Per kind, no profile holds more properties than this (it never goes down: an upper bound). */
  largest: Record<ProfileKind, number>
}

function countMember (state: TenantProfiles, companyId: string | null, delta: number): void {
  if (companyId === null) return
  const count = (state.members.get(companyId) ?? 0) + delta
  if (count === 0) state.members.delete(companyId)
  else state.members.set(companyId, count)
}

/**
 * The in-memory profiles of every tenant. Its synchronous `applyUser` and
 * `applyCompany` are what the memory job store calls while it takes rows off
 * a job, so that no await ever separates the two.
 */
export class MemoryProfiles implements ProfileStore {
  readonly #tenants = new Map<string, TenantProfiles>()

  #state (tenant: string): TenantProfiles {
    let state = this.#tenants.get(tenant)
    if (state === undefined) {
      state = { users: new Map(), companies: new Map(), members: new Map(), deletions: { users: new Map(), companies: new Map() }, largest: { users: 0, companies: 0 } }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  /** Tenants that hold any profile or pending deletion. */
  tenants (): IterableIterator<string> {
    return this.#tenants.keys()
  }

  /** Identifies one user: created on first sight, metadata merged, a new company_id moves it. */
  applyUser (tenant: string, row: UserRow, touch: Touch, at: number): void {
    const state = this.#state(tenant)
    let user = state.users.get(row.user_id)
    if (user === undefined) {
      user = { userId: row.user_id, companyId: null, metadata: emptyMetadata(), createdAt: at, updatedAt: at, lastTouch: touch }
      state.users.set(row.user_id, user)
    }
    if (row.company_id !== undefined && row.company_id !== user.companyId) {
      countMember(state, user.companyId, -1)
      countMember(state, row.company_id, 1)
      user.companyId = row.company_id
    }
    if (row.metadata !== undefined) state.largest.users = Math.max(state.largest.users, mergeMetadata(user.metadata, row.metadata))
    user.updatedAt = at
    user.lastTouch = touch
  }

  /** Identifies one company: created on first sight, metadata merged. */
  applyCompany (tenant: string, row: CompanyRow, touch: Touch, at: number): void {
    const state = this.#state(tenant)
    let company = state.companies.get(row.company_id)
    if (company === undefined) {
      company = { companyId: row.company_id, metadata: emptyMetadata(), createdAt: at, updatedAt: at, lastTouch: touch }
      state.companies.set(row.company_id, company)
    }
    if (row.metadata !== undefined) state.largest.companies = Math.max(state.largest.companies, mergeMetadata(company.metadata, row.metadata))
    company.updatedAt = at
    company.lastTouch = touch
  }

  async identify (tenant: string, change: { user?: UserRow | undefined, company?: CompanyRow | undefined }, touch: Touch, at: number): Promise<string | null> {
    if (change.company !== undefined) this.applyCompany(tenant, change.company, touch, at)
    // Without a user, a company is given.
    if (change.user === undefined) return (change.company as CompanyRow).company_id
    this.applyUser(tenant, change.user, touch, at)
    return (this.#state(tenant).users.get(change.user.user_id) as UserRecord).companyId
  }

  #viewUser (state: TenantProfiles, user: UserRecord): StoredUser {
    return { ...user, metadata: copyMetadata(user.metadata), deletionScheduledAt: state.deletions.users.get(user.userId) ?? null }
  }

  #viewCompany (state: TenantProfiles, company: CompanyRecord): CompanyView {
    return {
      ...company,
      metadata: copyMetadata(company.metadata),
      deletionScheduledAt: state.deletions.companies.get(company.companyId) ?? null,
      userCount: state.members.get(company.companyId) ?? 0
    }
  }

  async getUser (tenant: string, userId: string): Promise<StoredUser | undefined> {
    const state = this.#tenants.get(tenant)
    const user = state?.users.get(userId)
    return state === undefined || user === undefined ? undefined : this.#viewUser(state, user)
  }

  async listUsers (tenant: string, page: Page, filter: { companyId?: string | undefined } = {}): Promise<StoredUser[]> {
    const state = this.#tenants.get(tenant)
    if (state === undefined) return []
    const { companyId } = filter
    const selected = companyId === undefined ? state.users.values() : filterIterable(state.users.values(), (user) => user.companyId === companyId)
    return takePage(selected, page).map((user) => this.#viewUser(state, user))
  }

  async getCompany (tenant: string, companyId: string): Promise<CompanyView | undefined> {
    const state = this.#tenants.get(tenant)
    const company = state?.companies.get(companyId)
    return state === undefined || company === undefined ? undefined : this.#viewCompany(state, company)
  }

  async listCompanies (tenant: string, page: Page): Promise<CompanyView[]> {
    const state = this.#tenants.get(tenant)
    return state === undefined ? [] : takePage(state.companies.values(), page).map((company) => this.#viewCompany(state, company))
  }

  async scheduleDeletions (tenant: string, kind: ProfileKind, ids: readonly string[], dueAt: number): Promise<number> {
    const state = this.#tenants.get(tenant)
    if (state === undefined) return 0
    const records: Map<string, unknown> = kind === 'users' ? state.users : state.companies
    const pending = state.deletions[kind]
    let marked = 0
    for (const id of new Set(ids)) {
      if (!records.has(id)) continue
      pending.set(id, Math.min(pending.get(id) ?? dueAt, dueAt))
      marked++
    }
    return marked
  }

  async listDeletions (tenant: string, page: Page): Promise<ScheduledDeletion[]> {
    const state = this.#tenants.get(tenant)
    if (state === undefined) return []
    const all: ScheduledDeletion[] = []
    for (const kind of ['users', 'companies'] as const) {
      for (const [id, dueAt] of state.deletions[kind]) all.push({ kind, id, dueAt })
    }
    all.sort(compareDeletions)
    return takePage(all, page)
  }

  async runDeletions (tenant: string | null, dueBy: number): Promise<DeletionCount> {
    const count: DeletionCount = { users: 0, companies: 0 }
    for (const state of this.#scope(tenant)) {
      for (const [userId, dueAt] of state.deletions.users) {
        if (dueAt > dueBy) continue
        state.deletions.users.delete(userId)
        // Only existing profiles are marked, and a mark goes with its profile.
        const user = state.users.get(userId) as UserRecord
        countMember(state, user.companyId, -1)
        state.users.delete(userId)
        count.users++
      }
      for (const [companyId, dueAt] of state.deletions.companies) {
        if (dueAt > dueBy) continue
        state.deletions.companies.delete(companyId)
        state.companies.delete(companyId)
        count.companies++
        if (!state.members.has(companyId)) continue
        for (const user of state.users.values()) if (user.companyId === companyId) user.companyId = null
        state.members.delete(companyId)
      }
    }
    return count
  }

  async hasDeletions (): Promise<boolean> {
    for (const state of this.#tenants.values()) {
      if (state.deletions.users.size > 0 || state.deletions.companies.size > 0) return true
    }
    return false
  }

  async largestMetadata (tenant: string, kind: ProfileKind): Promise<number> {
    return this.#tenants.get(tenant)?.largest[kind] ?? 0
  }

  async metadataSizes (tenant: string, kind: ProfileKind, ids: readonly string[]): Promise<number[]> {
    const state = this.#tenants.get(tenant)
    const records: Map<string, UserRecord | CompanyRecord> | undefined = kind === 'users' ? state?.users : state?.companies
    return ids.map((id) => {
      const record = records?.get(id)
      return record === undefined ? 0 : Object.keys(record.metadata).length
    })
  }

  /** Forgets a tenant's profiles (every tenant's when null). */
  forget (tenant: string | null): void {
    if (tenant === null) this.#tenants.clear()
    else this.#tenants.delete(tenant)
  }

  #scope (tenant: string | null): TenantProfiles[] {
    if (tenant === null) return [...this.#tenants.values()]
    const state = this.#tenants.get(tenant)
    return state === undefined ? [] : [state]
  }
}
