import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { CONTENT_LOOKUPS, DERIVED_LOOKUPS, LookupItemsBody, LookupNameParams, LookupSet, MAX_LOOKUP_ITEMS, type ContentLookup } from '../../../schemas/lookups.js'
import { apiError, excerpt } from '../../errors.js'
import { scopeTenant } from '../../http/control-auth.js'
import { CONTROL_TAG, controlErrors, Headers } from './common.js'

/** Whether a name is one of `names`. */
function oneOf<T extends string> (names: readonly T[], name: string): name is T {
  return (names as readonly string[]).includes(name)
}

/**
 * The lookup and the key a PUT is about, checked before its body is: a
 * misspelt name or a missing key is the mistake to report, whatever the body.
 */
async function checkTarget (request: FastifyRequest): Promise<void> {
  const { name } = request.params as { name: string }
  if (oneOf(DERIVED_LOOKUPS, name)) {
    throw apiError(400, 'derived_lookup', `The ${name} lookup is derived from what this key stored (profiles and track events): send those instead of setting it.`, `name ${name}`)
  }
  if (!oneOf(CONTENT_LOOKUPS, name)) {
    throw apiError(404, 'unknown_lookup', `No lookup is named ${excerpt(name, 60)}; these can be set: ${CONTENT_LOOKUPS.join(', ')}.`, `name ${excerpt(name, 60)}`)
  }
  if (scopeTenant(request) === null) {
    throw apiError(400, 'key_required', 'Lookups belong to one API key: send its "Authorization: Token <key>" instead of ?all=1.', 'query all')
  }
}

/** `PUT /__mock/lookups/:name`: what a content lookup answers for this key from now on. */
export const controlLookups: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock
  app.put('/lookups/:name', {
    schema: {
      tags: [CONTROL_TAG],
      summary: 'Set a content lookup',
      description: `Replaces the items \`GET /api/v1/analytics/exports/lookups/:name\` answers for this key, for one of ${CONTENT_LOOKUPS.join(', ')}: a JSON array of at most ${MAX_LOOKUP_ITEMS} objects, answered as sent (an empty array clears it). The other lookups are derived from the key's profiles and track events. \`POST /__mock/reset\` forgets them.`,
      headers: Headers,
      params: LookupNameParams,
      body: LookupItemsBody,
      response: { 200: LookupSet, ...controlErrors }
    },
    preValidation: checkTarget
  }, async (request) => {
    const name = request.params.name as ContentLookup
    await store.lookups.set(scopeTenant(request) as string, name, request.body)
    return { name, items: request.body.length }
  })
}
