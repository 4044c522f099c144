import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { apiError } from '../errors.js'
import { authenticate, secretsEqual, type KeyRing, type Tenant } from '../tenant.js'
import { AUTH_MESSAGES } from './auth.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Control calls: true when `?all=1` asks for every key. */
    allKeys: boolean
  }
}

function wantsAll (request: FastifyRequest): boolean {
  const all = (request.query as Record<string, unknown>).all
  return all === '1' || all === 'true'
}

/**
 * Control calls need `X-Mock-Admin` when MOCK_ADMIN_TOKEN is set, and a key
 * (the scope) unless `?all=1` spans every key.
 */
export function requireControlAccess (keys: KeyRing, adminToken: string | undefined): onRequestAsyncHookHandler {
  return async function requireControlAccess (request) {
    if (adminToken !== undefined) {
      const given = request.headers['x-mock-admin']
      if (typeof given !== 'string' || !secretsEqual(given, adminToken)) {
        throw apiError(401, given === undefined ? 'missing_admin_token' : 'invalid_admin_token',
          'This mock protects its control API: send the header "X-Mock-Admin: <MOCK_ADMIN_TOKEN>".', 'header x-mock-admin')
      }
    }
    request.allKeys = wantsAll(request)
    if (request.allKeys && request.headers.authorization === undefined) return
    const result = authenticate(request.headers.authorization, keys)
    if ('failure' in result) {
      throw apiError(401, result.failure, `${AUTH_MESSAGES[result.failure]} Control calls are scoped to that key; add ?all=1 to see every key.`, 'header authorization')
    }
    request.tenant = result.tenant
  }
}

/** The tenant a control call is scoped to, or null for every key (`?all=1`). */
export function scopeTenant (request: FastifyRequest): string | null {
  return request.allKeys ? null : (request.tenant as Tenant).id
}

/** The tenants a control call covers: its key's, or every one with `?all=1`. */
export async function scopeTenants (request: FastifyRequest, listTenants: () => Promise<string[]>): Promise<string[]> {
  const tenant = scopeTenant(request)
  return tenant === null ? await listTenants() : [tenant]
}
