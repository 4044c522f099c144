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

/** Journals one request: `status` 0 for a connection dropped without an answer. */
export type JournalWriter = (request: FastifyRequest, reply: FastifyReply, status: number) => Promise<void>

/**
 * Records a `/v1` request in the journal: method, path, status, duration,
 * request id, headers with the key masked, the body up to
 * MOCK_JOURNAL_BODY_BYTES (marked when cut), and its fidelity warnings.
 */
export function journalWriter (state: Pick<MockState, 'store' | 'clock' | 'config'>): JournalWriter {
  const limit = state.config.MOCK_JOURNAL_BODY_BYTES
  return async (request, reply, status) => {
    const raw = request.rawBody
    await state.store.appendRequest({
      time: state.clock.now(),
      tenant: request.tenant?.id ?? null,
      requestId: request.id,
      method: request.method,
      path: request.url,
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      headers: maskedHeaders(request),
      body: raw === null ? null : raw.toString('utf8', 0, Math.min(raw.length, limit)),
      bodyBytes: request.bodyBytes,
      bodyTruncated: raw !== null && request.bodyBytes > limit,
      warnings: request.warnings?.list ?? []
    })
  }
}

/** Journals every answered `/v1` request (unknown paths too). */
export function journalHook (write: JournalWriter): onResponseHookHandler {
  // A callback hook: an async one would add its own promise to the store's.
  return function journal (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    write(request, reply, reply.statusCode).then(() => done(), done)
  }
}
