import fastifySwagger from '@fastify/swagger'
import fastifySwaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { VERSION } from '../version.js'

type Operation = { requestBody?: { required?: boolean, content?: Record<string, { schema?: { nullable?: boolean } }> } }

/**
 * @fastify/swagger marks every request body as required; a body schema that
 * also accepts null (advance, fail; `nullable` once converted) is optional, so the document says so.
 */
export function markOptionalBodies (document: { paths?: Record<string, Record<string, Operation>> }): void {
  for (const operations of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      const schema = operation.requestBody?.content?.['application/json']?.schema
      if (schema?.nullable === true) (operation.requestBody as { required?: boolean }).required = false
    }
  }
}

/**
 * The OpenAPI 3 document at /documentation/json and Swagger UI at
 * /documentation, generated from the route schemas — the same TypeBox objects
 * that validate requests and serialize answers.
 */
export const openapi = fp(async function openapi (app: FastifyInstance) {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'userpilot-mock',
        version: VERSION,
        description: "A local, stateful mock of Userpilot's server API — real-time identify and track, deletes, bulk identify, historical imports and their background jobs (tag **Userpilot**), exports and lookups (tag **Export API**) — and the mock's own control API (tag **Mock control**)."
      },
      servers: [{ url: '/', description: 'this mock' }],
      tags: [
        { name: 'Userpilot', description: 'The emulated API, as at https://analytex.userpilot.io' },
        { name: 'Export API', description: 'Exports and lookups, as at the appex host (/api/v1/analytics/exports…), served on the same origin' },
        { name: 'Mock control', description: 'What tests use: state, time, outcomes, faults (under /__mock)' }
      ],
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: '`Token <API_KEY>`' }
        }
      },
      security: [{ apiKey: [] }]
    },
    // With the `openapi` option, @fastify/swagger always passes { openapiObject } (never swaggerObject).
    transformObject: (documentObject) => {
      const { openapiObject } = documentObject as Extract<typeof documentObject, { openapiObject: unknown }>
      markOptionalBodies(openapiObject as Parameters<typeof markOptionalBodies>[0])
      return openapiObject
    }
  })
  await app.register(fastifySwaggerUi, { routePrefix: '/documentation' })
}, { name: 'openapi', fastify: '5.x' })
