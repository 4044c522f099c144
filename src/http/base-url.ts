import type { FastifyRequest } from 'fastify'

/**
 * Base of the absolute URLs the mock hands out: MOCK_PUBLIC_URL when set,
 * else the scheme and Host the client used, so that links work from inside a
 * compose network as well as from the host.
 */
export function baseUrl (request: FastifyRequest, publicUrl: string | undefined): string {
  if (publicUrl !== undefined) return publicUrl.replace(/\/+$/, '')
  return `${request.protocol}://${request.host || 'localhost'}`
}
