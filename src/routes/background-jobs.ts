import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { BackgroundJob, BackgroundJobList, JobIdParams, JobListQuery } from '../../schemas/jobs.js'
import { apiError, excerpt } from '../errors.js'
import { tenantOfRequest } from '../http/auth.js'
import { baseUrl } from '../http/base-url.js'
import { pageOf } from '../http/page.js'
import { toBackgroundJob } from '../jobs/jobs.js'

/** `GET /v1/background_jobs/{job_id}` and `GET /v1/background_jobs`. */
export const backgroundJobs: FastifyPluginAsyncTypebox = async (app) => {
  const { config, clock, store } = app.mock

  // No body schema and no parsing of GET bodies: the docs' own curl sends one, and it is ignored.
  app.get('/background_jobs/:job_id', {
    schema: {
      tags: ['Userpilot'],
      summary: 'Background job status',
      description: 'The job with `completed_rows` and `elapsed_time`. Jobs of other API keys are not found.',
      params: JobIdParams,
      response: { 200: BackgroundJob, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request) => {
    const tenant = tenantOfRequest(request)
    const job = await store.getJob(tenant.id, request.params.job_id)
    if (job === undefined) {
      throw apiError(404, 'job_not_found', 'No job with this id exists for this API key.', `job_id ${excerpt(request.params.job_id, 120)}`)
    }
    return toBackgroundJob(job, baseUrl(request, config.MOCK_PUBLIC_URL), clock.now())
  })

  app.get('/background_jobs', {
    schema: {
      tags: ['Userpilot'],
      summary: 'List background jobs',
      description: "The API key's jobs, newest first.",
      querystring: JobListQuery,
      response: { 200: BackgroundJobList, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope }
    }
  }, async (request) => {
    const tenant = tenantOfRequest(request)
    const jobs = await store.listJobs(tenant.id, pageOf(request.query))
    const base = baseUrl(request, config.MOCK_PUBLIC_URL)
    const now = clock.now()
    return jobs.map((job) => toBackgroundJob(job, base, now))
  })
}
