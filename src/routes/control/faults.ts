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

/** Queue, list and clear faults for the key's next API calls. */
export const controlFaults: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock

  app.post('/faults', {
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
