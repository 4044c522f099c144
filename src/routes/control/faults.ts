import { randomUUID } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { Fault, FaultInput, FaultsAdded, ScopeQuery } from '../../../schemas/control.js'
import { fromFaultInput, toFault } from '../../control/views.js'
import { apiError } from '../../errors.js'
import { FAULT_LIMIT } from '../../store/store.js'
import type { Tenant } from '../../tenant.js'
import { scopeTenant } from '../../http/control-auth.js'
import { CONTROL_TAG, controlErrors, Headers } from './common.js'

/** Largest `POST /__mock/faults` body: a rule is kept until used, up to FAULT_LIMIT of them per key. */
export const FAULT_BODY_LIMIT = 1_048_576

/** Deepest nesting of a fault's response body: it is copied and serialized recursively. */
export const MAX_FAULT_BODY_DEPTH = 32

/** Whether a JSON value nests more than `limit` arrays and objects deep (walked level by level, without recursion). */
export function nestsDeeperThan (value: unknown, limit: number): boolean {
  let level: unknown[] = [value]
  for (let depth = 1; ; depth++) {
    const containers = level.filter((item): item is object => typeof item === 'object' && item !== null)
    if (containers.length === 0) return false
    if (depth > limit) return true
    level = containers.flatMap((container) => Object.values(container))
  }
}

/** Queue, list and clear faults for the key's next API calls. */
export const controlFaults: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock

  app.post('/faults', {
    bodyLimit: FAULT_BODY_LIMIT,
    schema: {
      tags: [CONTROL_TAG],
      summary: 'Queue faults',
      description: 'A rule for this key\'s next matching API calls: a status (429 and 503 get `Retry-After: 1` unless given), a delay, or a dropped connection. `path` ending with `*` matches a prefix.',
      headers: Headers,
      body: FaultInput,
      response: { 201: FaultsAdded, ...controlErrors }
    }
  }, async (request, reply) => {
    if (request.allKeys) throw apiError(400, 'key_required', 'Faults belong to one API key: send its "Authorization: Token <key>" instead of ?all=1.', 'query all')
    if (nestsDeeperThan(request.body.body, MAX_FAULT_BODY_DEPTH)) {
      throw apiError(400, 'fault_body_too_deep', `A fault's body nests at most ${MAX_FAULT_BODY_DEPTH} arrays or objects deep; send a flatter body.`, 'body/body')
    }
    const tenant = (request.tenant as Tenant).id
    const rules = [fromFaultInput(tenant, randomUUID(), request.body)]
    if (!await store.addFaults(rules)) {
      throw apiError(409, 'too_many_faults', `A key holds at most ${FAULT_LIMIT} queued faults; clear some with DELETE /__mock/faults.`, `limit ${FAULT_LIMIT}`)
    }
    return reply.code(201).send({ faults: rules.map(toFault) })
  })

  app.get('/faults', {
    schema: { tags: [CONTROL_TAG], summary: 'Queued faults', headers: Headers, querystring: ScopeQuery, response: { 200: Type.Array(Fault), ...controlErrors } }
  }, async (request) => {
    return (await store.listFaults(scopeTenant(request))).map(toFault)
  })

  app.delete('/faults', {
    schema: { tags: [CONTROL_TAG], summary: 'Clear queued faults', headers: Headers, querystring: ScopeQuery, response: { 204: Type.Null(), ...controlErrors } }
  }, async (request, reply) => {
    await store.clearFaults(scopeTenant(request))
    return reply.code(204).send(null)
  })
}
