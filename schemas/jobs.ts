import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from './enums.js'
import './formats.js'

/** The statuses a job moves through on its own, in order. */
export const JOB_STAGES = ['queued', 'validating', 'processing', 'pending_refresh'] as const
/** Every status a background job can have, in lifecycle order. */
export const JOB_STATUSES = [...JOB_STAGES, 'completed', 'failed'] as const
export type JobStatus = typeof JOB_STATUSES[number]
export const JobStatusSchema = StringEnum(JOB_STATUSES)

/** What a job does: a bulk identify of users or companies, or a historical import (SPEC 1.13). */
export const JOB_TYPES = ['users', 'companies', 'import'] as const
export type JobType = typeof JOB_TYPES[number]
export const JobTypeSchema = StringEnum(JOB_TYPES)

const exampleJobId = 'bulk:jobs:NX-1a2b3c4d:0f8e5c1e-8d7b-4b36-9a7e-1d2c3b4a5f60'
const acceptedExample = {
  job_id: exampleJobId,
  status: 'queued',
  total_rows: 2,
  file_size: 379,
  filename: 'bulk_identify_users_0f8e5c1e-8d7b-4b36-9a7e-1d2c3b4a5f60.json',
  type: 'users',
  links: `http://127.0.0.1:3000/v1/background_jobs/${exampleJobId}`,
  start_time: '2025-05-19T07:29:12.000Z',
  submitted_at: '2025-05-19T07:29:12.000Z',
  end_time: null
}

const jobFields = {
  job_id: Type.String({ description: '`bulk:jobs:<env>:<uuid>`; `<env>` is derived from the API key.' }),
  status: JobStatusSchema,
  total_rows: Type.Integer({ minimum: 0 }),
  file_size: Type.Integer({ minimum: 0, description: 'Bytes of the request body as received, or of the uploaded file.' }),
  filename: Type.String(),
  type: JobTypeSchema,
  links: Type.String({ description: "Absolute URL of this job's status endpoint." }),
  start_time: Type.String({ format: 'date-time' }),
  submitted_at: Type.String({ format: 'date-time' })
}

/** The 202 answer to a bulk request. */
export const JobAccepted = Type.Object({
  ...jobFields,
  end_time: Type.Null()
}, {
  title: 'JobAccepted',
  additionalProperties: false,
  examples: [acceptedExample]
})

/** A job as `GET /v1/background_jobs/{job_id}` shows it. */
export const BackgroundJob = Type.Object({
  ...jobFields,
  end_time: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  completed_rows: Type.Integer({ minimum: 0 }),
  elapsed_time: Type.Integer({ minimum: 0, description: 'Whole seconds from start_time to end_time, or to now while running.' })
}, {
  title: 'BackgroundJob',
  additionalProperties: false,
  examples: [{ ...acceptedExample, status: 'completed', completed_rows: 2, end_time: '2025-05-19T07:29:13.000Z', elapsed_time: 1 }]
})

/** `GET /v1/background_jobs`: the key's jobs, newest first. */
export const BackgroundJobList = Type.Array(BackgroundJob, { title: 'BackgroundJobList' })

export const JobIdParams = Type.Object({
  job_id: Type.String({ minLength: 1, maxLength: 512, description: 'The job id; its colons may be sent raw or percent-encoded.' })
})

/** Offset pagination of every list: optional in requests, these when absent. */
export const PAGE_DEFAULTS = { limit: 50, offset: 0 } as const
export const PageParams = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: PAGE_DEFAULTS.limit })),
  offset: Type.Optional(Type.Integer({ minimum: 0, default: PAGE_DEFAULTS.offset }))
}

export const JobListQuery = Type.Object(PageParams)

export type JobAccepted = Static<typeof JobAccepted>
export type BackgroundJob = Static<typeof BackgroundJob>
export type JobListQuery = Static<typeof JobListQuery>
