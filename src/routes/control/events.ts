import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { EventsQuery, MockEvent } from '../../../schemas/control.js'
import { toMockEvent } from '../../control/views.js'
import { pageOf } from '../../http/page.js'
import { CONTROL_TAG, controlErrors, Headers, pageAcross } from './common.js'

/** `GET /__mock/events`: what the real-time calls sent, as Userpilot's export names it. */
export const controlEvents: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock

  app.get('/events', {
    schema: {
      tags: [CONTROL_TAG],
      summary: 'Events',
      description: 'Identify, company identify and track calls kept as events (MOCK_EVENT_RETENTION per key), newest first; `user_id`, `company_id`, `event_type` and `event_name` filter.',
      headers: Headers,
      querystring: EventsQuery,
      response: { 200: Type.Array(MockEvent), ...controlErrors }
    }
  }, async (request) => {
    const { user_id: userId, company_id: companyId, event_type: eventType, event_name: eventName } = request.query
    const filter = { userId, companyId, eventType, eventName }
    const events = await pageAcross(request, store, pageOf(request.query), async (tenant, page) => await store.events.list(tenant, filter, page),
      (a, b) => b.insertedAt - a.insertedAt)
    return events.map(toMockEvent)
  })
}
