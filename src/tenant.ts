import { createHash, timingSafeEqual } from 'node:crypto'

/** One Userpilot environment: all state is partitioned by API key. */
export interface Tenant {
  /** SHA-256 of the key, hex: the partition id, so the key itself is never stored. */
  id: string
  /** Short stable id shown in job ids and logs, e.g. `NX-1a2b3c4d`. */
  envId: string
}

function digest (key: string): Buffer {
  return createHash('sha256').update(key).digest()
}

/** The short environment id shown for a tenant id. */
export function envIdOf (tenantId: string): string {
  return `NX-${tenantId.slice(0, 8)}`
}

/** Keys seen lately and their tenants, so that a request costs no SHA-256; cleared when full. */
const tenants = new Map<string, Tenant>()
const TENANT_CACHE_SIZE = 1000

/** The tenant an API key stands for. */
export function tenantOf (key: string): Tenant {
  let tenant = tenants.get(key)
  if (tenant === undefined) {
    const id = digest(key).toString('hex')
    tenant = Object.freeze({ id, envId: envIdOf(id) })
    if (tenants.size === TENANT_CACHE_SIZE) tenants.clear()
    tenants.set(key, tenant)
  }
  return tenant
}

/** Constant-time equality of two secrets of any length (compares their digests). */
export function secretsEqual (a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b))
}

/** Splits MOCK_API_KEYS (comma-separated, blanks ignored). */
export function parseKeyList (value: string): string[] {
  return value.split(',').map((key) => key.trim()).filter((key) => key !== '')
}

/** Which API keys are accepted: any non-empty key when none are configured. */
export class KeyRing {
  readonly #digests: Buffer[]

  constructor (keys: readonly string[]) {
    this.#digests = keys.map(digest)
  }

  /** True when any non-empty key is accepted. */
  get open (): boolean {
    return this.#digests.length === 0
  }

  /**
   * Compares digests of equal length with `timingSafeEqual` against every
   * configured key, without stopping at the first match, so the time taken
   * says nothing about the key.
   */
  accepts (key: string): boolean {
    if (this.open) return true
    const candidate = digest(key)
    let found = false
    for (const known of this.#digests) found = timingSafeEqual(candidate, known) || found
    return found
  }
}

/** Why an Authorization header was refused. */
export type AuthFailure = 'missing_authorization' | 'invalid_auth_scheme' | 'missing_api_key' | 'invalid_api_key'

/** Reads `Authorization: Token <key>`; the scheme word is case-insensitive (older docs write `token`). */
export function authenticate (header: string | undefined, keys: KeyRing): { tenant: Tenant } | { failure: AuthFailure } {
  if (header === undefined || header.trim() === '') return { failure: 'missing_authorization' }
  const match = /^\s*(\S+)(?:\s+([\s\S]*))?$/.exec(header) as RegExpExecArray
  if ((match[1] as string).toLowerCase() !== 'token') return { failure: 'invalid_auth_scheme' }
  const key = (match[2] ?? '').trim()
  if (key === '') return { failure: 'missing_api_key' }
  if (!keys.accepts(key)) return { failure: 'invalid_api_key' }
  return { tenant: tenantOf(key) }
}
