import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import { envelope } from '../errors.js'
import type { MockStore } from '../store/store.js'
import type { JournalWriter } from './journal.js'

/** Statuses that tell a client to come back later get a Retry-After unless the rule gives one. */
const RETRY_STATUSES = new Set([429, 503])

/**
 * Applies the first queued fault of the request's key that matches its method
 * and path: a delay (then the normal answer, or the fault's status), a status
 * with headers and body, or a dropped connection. The delay is wall-clock
 * latency, not job time, so it waits on a real timer and never blocks other
 * requests.
 */
export function faultHook (store: MockStore, journal: JournalWriter): onRequestAsyncHookHandler {
  return async function applyFault (request: FastifyRequest, reply: FastifyReply) {
    // Runs after requireApiKey: the tenant is known, but for an unknown path sent without a valid key.
    const tenant = request.tenant
    if (tenant === null) return
    const fault = await store.takeFault(tenant.id, request.method, request.url.split('?')[0] as string)
    if (fault === undefined) return
    request.log.info({ faultId: fault.id }, 'fault injected')
    if (fault.delayMs > 0) await sleep(fault.delayMs)
    if (fault.dropConnection) {
      reply.hijack()
      request.raw.socket.destroy()
      // No answer, so no onResponse: the journal is told here, with status 0.
      await journal(request, reply, 0)
      return
    }
    if (fault.status === null) return
    const headers = { ...fault.headers }
    if (RETRY_STATUSES.has(fault.status) && !Object.keys(headers).some((name) => name.toLowerCase() === 'retry-after')) {
      headers['retry-after'] = '1'
    }
    const body = fault.body === undefined ? envelope(fault.status, 'injected_fault', `Fault injected by the mock (rule ${fault.id}).`, `${request.method} ${request.url}`) : fault.body
    // Sent as text, past the route's response schema, so that any body arrives as given.
    return await reply.code(fault.status).headers(headers).type('application/json; charset=utf-8').send(JSON.stringify(body))
  }
}
