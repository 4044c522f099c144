import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { apiError } from '../errors.js'
import { authenticate, type AuthFailure, type KeyRing, type Tenant } from '../tenant.js'

const EXPECTED = 'Expected the header "Authorization: Token <API_KEY>".'

/** What each Authorization failure tells the client. */
export const AUTH_MESSAGES: Readonly<Record<AuthFailure, string>> = {
  missing_authorization: `The Authorization header is missing. ${EXPECTED}`,
  invalid_auth_scheme: `The Authorization header uses another scheme. ${EXPECTED}`,
  missing_api_key: `The Authorization header has no API key after "Token". ${EXPECTED}`,
  invalid_api_key: `The API key is not one this mock accepts (MOCK_API_KEYS). ${EXPECTED}`
}

/** An onRequest hook that admits only `Authorization: Token <key>` with an accepted key, and sets `request.tenant`. */
export function requireApiKey (keys: KeyRing): onRequestAsyncHookHandler {
  return async function requireApiKey (request) {
    const result = authenticate(request.headers.authorization, keys)
    if ('failure' in result) throw apiError(401, result.failure, AUTH_MESSAGES[result.failure], 'header authorization')
    request.tenant = result.tenant
  }
}

/** The tenant set by {@link requireApiKey}; only for routes behind it. */
export function tenantOfRequest (request: FastifyRequest): Tenant {
  return request.tenant as Tenant
}
