import { Type } from '@sinclair/typebox'
import type { FastifyRequest } from 'fastify'
import { ErrorEnvelope } from '../../../schemas/errors.js'
import { apiError, excerpt } from '../../errors.js'
import { scopeTenants } from '../../http/control-auth.js'
import type { MockStore, Page } from '../../store/store.js'

/** Tag and error responses shared by every control route. */
export const CONTROL_TAG = 'Mock control'
export const controlErrors = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
export const Headers = Type.Object({
  authorization: Type.Optional(Type.String({ description: '`Token <API_KEY>`: the key (environment) the call is about; not needed with ?all=1.' })),
  'x-mock-admin': Type.Optional(Type.String({ description: 'Required when the mock runs with MOCK_ADMIN_TOKEN.' }))
})

/**
 * One page over the tenants in scope: each gives its first `offset + limit`
 * items, which are merged (and ordered by `order` when given) before the page
 * is cut, so the result is right for one key and for `?all=1` alike.
 */
export async function pageAcross<T> (
  request: FastifyRequest,
  store: MockStore,
  page: Page,
  fetch: (tenant: string, page: Page) => Promise<T[]>,
  order?: (a: T, b: T) => number
): Promise<T[]> {
  const items: T[] = []
  for (const tenant of await scopeTenants(request, () => store.listTenants())) {
    items.push(...await fetch(tenant, { limit: page.offset + page.limit, offset: 0 }))
  }
  if (order !== undefined) items.sort(order)
  return items.slice(page.offset, page.offset + page.limit)
}

/** The first tenant in scope for which `find` finds something, with what it found. */
export async function findInScope<T> (request: FastifyRequest, store: MockStore, find: (tenant: string) => Promise<T | undefined>): Promise<{ tenant: string, found: T } | undefined> {
  for (const tenant of await scopeTenants(request, () => store.listTenants())) {
    const found = await find(tenant)
    if (found !== undefined) return { tenant, found }
  }
  return undefined
}

/** A 404 for a control lookup. */
export function notFound (what: string, code: string, id: string): Error {
  return apiError(404, code, `No ${what} with this id exists for this API key (add ?all=1 to look across keys).`, `${what} ${excerpt(id, 120)}`)
}
