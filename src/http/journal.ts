import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction, onResponseHookHandler } from 'fastify'
import type { MockState } from '../plugins/mock-state.js'

/** Headers whose values are secrets: the journal keeps only a masked form. */
function maskedHeaders (request: FastifyRequest): Record<string, string> {
  // Node gives strings, and an array only for a repeated set-cookie.
  const headers = { ...request.headers } as Record<string, string>
  for (const name in headers) {
    const value: unknown = headers[name]
    if (Array.isArray(value)) headers[name] = value.join(', ')
  }
  if (headers.authorization !== undefined) {
    const scheme = headers.authorization.trim().split(/\s+/)[0] as string
    headers.authorization = `${scheme} ***${request.tenant === null ? '' : ` (${request.tenant.envId})`}`
  }
  if (headers['x-mock-admin'] !== undefined) headers['x-mock-admin'] = '***'
  return headers
}

/**
 * Records every answered `/v1` request in the journal: method, path, status,
 * duration, request id, headers with the key masked, and the body up to
 * MOCK_JOURNAL_BODY_BYTES (marked when cut).
 */
export function journalHook (state: Pick<MockState, 'store' | 'clock' | 'config'>): onResponseHookHandler {
  const limit = state.config.MOCK_JOURNAL_BODY_BYTES
  // A callback hook: an async one would add its own promise to the store's.
  return function journal (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const raw = request.rawBody
    state.store.appendRequest({
      time: state.clock.now(),
      tenant: request.tenant?.id ?? null,
      requestId: request.id,
      method: request.method,
      path: request.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      headers: maskedHeaders(request),
      body: raw === null ? null : raw.toString('utf8', 0, Math.min(raw.length, limit)),
      bodyBytes: request.bodyBytes,
      bodyTruncated: raw !== null && request.bodyBytes > limit,
      warnings: request.warnings?.list ?? []
    }).then(() => done(), done)
  }
}
