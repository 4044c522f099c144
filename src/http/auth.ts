import type { FastifyRequest, onRequestHookHandler } from 'fastify'
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
export function requireApiKey (keys: KeyRing): onRequestHookHandler {
  // A callback hook: no promise per request.
  return function requireApiKey (request, _reply, done) {
    const result = authenticate(request.headers.authorization, keys)
    if ('failure' in result) {
      // An unknown path is a 404 whoever asks; it is journaled, under no key.
      done(request.is404 ? undefined : apiError(401, result.failure, AUTH_MESSAGES[result.failure], 'header authorization'))
      return
    }
    request.tenant = result.tenant
    done()
  }
}

/** The tenant set by {@link requireApiKey}; only for routes behind it. */
export function tenantOfRequest (request: FastifyRequest): Tenant {
  return request.tenant as Tenant
}
