import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { JournalEntry, MockCompany, MockDeletion, MockUser, PageQuery, RequestsQuery, ResetResult, ScopeQuery, UsersQuery } from '../../../schemas/control.js'
import { pageOf } from '../../http/page.js'
import { toJournalEntry, toMockCompany, toMockDeletion, toMockUser } from '../../control/views.js'
import { scopeTenant } from '../../http/control-auth.js'
import { CONTROL_TAG, controlErrors, findInScope, Headers, notFound, pageAcross } from './common.js'

/** What the mock remembers, per key: users, companies, pending deletions, the request journal; and reset. */
export const controlState: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app.mock

  app.get('/users', {
    schema: { tags: [CONTROL_TAG], summary: 'Stored users', description: 'In the order they were first identified; `company_id` filters.', headers: Headers, querystring: UsersQuery, response: { 200: Type.Array(MockUser), ...controlErrors } }
  }, async (request) => {
    const companyId = request.query.company_id
    return await pageAcross(request, store, pageOf(request.query), async (tenant, page) =>
      (await store.profiles.listUsers(tenant, page, { companyId })).map((user) => toMockUser(tenant, user)))
  })

  app.get('/users/:user_id', {
    schema: { tags: [CONTROL_TAG], summary: 'One stored user', headers: Headers, params: Type.Object({ user_id: Type.String() }), querystring: ScopeQuery, response: { 200: MockUser, ...controlErrors } }
  }, async (request) => {
    const hit = await findInScope(request, store, (tenant) => store.profiles.getUser(tenant, request.params.user_id))
    if (hit === undefined) throw notFound('user', 'user_not_found', request.params.user_id)
    return toMockUser(hit.tenant, hit.found)
  })

  app.get('/companies', {
    schema: { tags: [CONTROL_TAG], summary: 'Stored companies', description: '`user_count` is derived from the users.', headers: Headers, querystring: PageQuery, response: { 200: Type.Array(MockCompany), ...controlErrors } }
  }, async (request) => {
    return await pageAcross(request, store, pageOf(request.query), async (tenant, page) =>
      (await store.profiles.listCompanies(tenant, page)).map((company) => toMockCompany(tenant, company)))
  })

  app.get('/companies/:company_id', {
    schema: { tags: [CONTROL_TAG], summary: 'One stored company', headers: Headers, params: Type.Object({ company_id: Type.String() }), querystring: ScopeQuery, response: { 200: MockCompany, ...controlErrors } }
  }, async (request) => {
    const hit = await findInScope(request, store, (tenant) => store.profiles.getCompany(tenant, request.params.company_id))
    if (hit === undefined) throw notFound('company', 'company_not_found', request.params.company_id)
    return toMockCompany(hit.tenant, hit.found)
  })

  app.get('/deletions', {
    schema: { tags: [CONTROL_TAG], summary: 'Pending deletions', description: 'Users and companies that DELETE requests scheduled, soonest first; they go at `deletion_scheduled_at` (02:00 UTC), or on flush.', headers: Headers, querystring: PageQuery, response: { 200: Type.Array(MockDeletion), ...controlErrors } }
  }, async (request) => {
    return await pageAcross(request, store, pageOf(request.query), async (tenant, page) =>
      (await store.profiles.listDeletions(tenant, page)).map((deletion) => toMockDeletion(tenant, deletion)),
    (a, b) => a.deletion_scheduled_at.localeCompare(b.deletion_scheduled_at))
  })

  app.get('/requests', {
    schema: { tags: [CONTROL_TAG], summary: 'Request journal', description: 'The API requests received, newest first (a bounded ring buffer); the key is masked. `?warnings=true`: only those that strayed from the docs.', headers: Headers, querystring: RequestsQuery, response: { 200: Type.Array(JournalEntry), ...controlErrors } }
  }, async (request) => {
    const tenant = scopeTenant(request)
    const warnings = request.query.warnings === 'true' || request.query.warnings === '1'
    return (await store.listRequests(tenant, pageOf(request.query), { warnings })).map(toJournalEntry)
  })

  app.post('/reset', {
    schema: { tags: [CONTROL_TAG], summary: 'Forget state', description: "Forgets this key's users, companies, pending deletions, jobs, events, rate windows, journal and faults (every key's with ?all=1).", headers: Headers, querystring: ScopeQuery, response: { 200: ResetResult, ...controlErrors } }
  }, async (request) => {
    app.mock.exportRunner.forget(scopeTenant(request))
    await app.mock.runner.forget(scopeTenant(request))
    return { reset: request.allKeys ? 'all' as const : 'key' as const }
  })
}
