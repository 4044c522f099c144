import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { AdvanceBody, FailBody, FlushResult, MockJob, PageQuery, ScopeQuery } from '../../../schemas/control.js'
import { toMockJob } from '../../control/views.js'
import { apiError } from '../../errors.js'
import { pageOf } from '../../http/page.js'
import type { ControlResult } from '../../jobs/job-runner.js'
import { scopeTenant } from '../../http/control-auth.js'
import { CONTROL_TAG, controlErrors, findInScope, Headers, notFound, pageAcross } from './common.js'

const JobParams = Type.Object({ job_id: Type.String({ minLength: 1, maxLength: 512 }) })

/** A control result as an answer: the job, or why it could not move. */
function answer (result: ControlResult, jobId: string): ReturnType<typeof toMockJob> {
  if (result.ok) return toMockJob(result.job)
  switch (result.reason) {
    case 'not_found':
      throw notFound('job', 'job_not_found', jobId)
    case 'finished':
      throw apiError(409, 'job_finished', `Job ${jobId} has already ${result.job.status === 'failed' ? 'failed' : 'completed'}; it cannot move any more.`, result.job.status)
    case 'backwards':
      throw apiError(409, 'invalid_transition', `Job ${jobId} is ${result.job.status} already; "to" must be a later status.`, result.job.status)
    case 'waiting':
      throw apiError(409, 'job_waiting', `Job ${jobId} waits for job ${result.aheadJobId} of the same key, which runs first (one job at a time). Advance that one.`, result.aheadJobId)
  }
}

/** Jobs with their history, and the calls that move them: advance, fail, flush. */
export const controlJobs: FastifyPluginAsyncTypebox = async (app) => {
  const { store, runner } = app.mock

  /** The tenant that owns a job in the call's scope. */
  async function ownerOf (request: Parameters<typeof findInScope>[0], jobId: string): Promise<string> {
    const hit = await findInScope(request, store, (tenant) => store.getJob(tenant, jobId))
    if (hit === undefined) throw notFound('job', 'job_not_found', jobId)
    return hit.tenant
  }

  app.get('/jobs', {
    schema: { tags: [CONTROL_TAG], summary: 'Jobs with their history', description: 'Newest first, each with every status change and its time.', headers: Headers, querystring: PageQuery, response: { 200: Type.Array(MockJob), ...controlErrors } }
  }, async (request) => {
    const jobs = await pageAcross(request, store, pageOf(request.query), (tenant, page) => store.listJobs(tenant, page), (a, b) => b.submittedAt - a.submittedAt)
    return jobs.map(toMockJob)
  })

  app.get('/jobs/:job_id', {
    schema: { tags: [CONTROL_TAG], summary: 'One job with its history', headers: Headers, params: JobParams, querystring: ScopeQuery, response: { 200: MockJob, ...controlErrors } }
  }, async (request) => {
    const hit = await findInScope(request, store, (tenant) => store.getJob(tenant, request.params.job_id))
    if (hit === undefined) throw notFound('job', 'job_not_found', request.params.job_id)
    return toMockJob(hit.found)
  })

  app.post('/jobs/:job_id/advance', {
    schema: {
      tags: [CONTROL_TAG],
      summary: 'Move a job on',
      description: 'One stage, or `{ "to": status }` to run it until that status. Processing applies all its remaining rows at once.',
      headers: Headers,
      params: JobParams,
      querystring: ScopeQuery,
      body: AdvanceBody,
      response: { 200: MockJob, ...controlErrors }
    }
  }, async (request) => {
    const { job_id: jobId } = request.params
    return answer(await runner.advance(await ownerOf(request, jobId), jobId, request.body?.to), jobId)
  })

  app.post('/jobs/:job_id/fail', {
    schema: {
      tags: [CONTROL_TAG],
      summary: 'Fail a job',
      description: 'Now, or `{ "at": stage }` to fail it when it reaches that stage; no rows are applied from then on.',
      headers: Headers,
      params: JobParams,
      querystring: ScopeQuery,
      body: FailBody,
      response: { 200: MockJob, ...controlErrors }
    }
  }, async (request) => {
    const { job_id: jobId } = request.params
    return answer(await runner.fail(await ownerOf(request, jobId), jobId, request.body?.at), jobId)
  })

  app.post('/clock/flush', {
    schema: { tags: [CONTROL_TAG], summary: 'Run every pending job to its end, and every scheduled deletion, now', headers: Headers, querystring: ScopeQuery, response: { 200: FlushResult, ...controlErrors } }
  }, async (request) => {
    const tenant = scopeTenant(request)
    const finished = await runner.flush(tenant) + await app.mock.exportRunner.flush(tenant === null ? await store.listTenants() : [tenant])
    return { finished, deleted: await app.mock.deletions.flush(tenant) }
  })
}
