import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from './enums.js'
import { JOB_STAGES, JobStatusSchema, PageParams } from './jobs.js'

/** The stages a job can be told to fail at (`X-Mock-Job-Outcome: failed@<stage>`, `POST …/fail`). */
export const FailStageSchema = StringEnum(JOB_STAGES)

const Iso = Type.String({ format: 'date-time' })
// Keys may hold line breaks: the serializer tests this pattern without the `s` flag, so `.` would drop them.
const MetadataOut = Type.Record(Type.String({ pattern: '^[\\s\\S]*$' }), Type.Union([Type.String(), Type.Number(), Type.Boolean()]))

/** `?all=1` spans every key; otherwise the key in Authorization is the scope. */
export const ScopeQuery = Type.Object({
  all: Type.Optional(Type.Union([Type.Literal('1'), Type.Literal('true'), Type.Literal('0'), Type.Literal('false')], { description: '`1` for every API key (the operator view).' }))
})

export const PageQuery = Type.Object({
  ...ScopeQuery.properties,
  ...PageParams
})

export const UsersQuery = Type.Object({
  ...PageQuery.properties,
  company_id: Type.Optional(Type.String({ description: 'Only the users of this company.' }))
})

/** A stored user as the control API shows it. */
export const MockUser = Type.Object({
  key_id: Type.String({ description: 'The environment (API key id) the user belongs to.' }),
  user_id: Type.String(),
  company_id: Type.Union([Type.String(), Type.Null()]),
  metadata: MetadataOut,
  created_at: Iso,
  updated_at: Iso,
  last_job_id: Type.String()
}, { title: 'MockUser', additionalProperties: false })

/** A stored company; `user_count` is derived from the users. */
export const MockCompany = Type.Object({
  key_id: Type.String(),
  company_id: Type.String(),
  metadata: MetadataOut,
  user_count: Type.Integer({ minimum: 0 }),
  created_at: Iso,
  updated_at: Iso,
  last_job_id: Type.String()
}, { title: 'MockCompany', additionalProperties: false })

/** A job with its whole history. */
export const MockJob = Type.Object({
  key_id: Type.String(),
  job_id: Type.String(),
  type: Type.String(),
  status: JobStatusSchema,
  total_rows: Type.Integer(),
  completed_rows: Type.Integer(),
  file_size: Type.Integer(),
  filename: Type.String(),
  submitted_at: Iso,
  end_time: Type.Union([Iso, Type.Null()]),
  fail_at: Type.Union([FailStageSchema, Type.Null()], { description: 'The stage the job was told to fail at, if any.' }),
  history: Type.Array(Type.Object({ status: JobStatusSchema, at: Iso }, { additionalProperties: false }))
}, { title: 'MockJob', additionalProperties: false })

export const AdvanceBody = Type.Union([
  Type.Object({ to: Type.Optional(JobStatusSchema) }, { additionalProperties: false }),
  Type.Null()
], { description: 'no body, or an object such as {"to": "completed"} (`to`: a later job status)' })

export const FailBody = Type.Union([
  Type.Object({ at: Type.Optional(FailStageSchema) }, { additionalProperties: false }),
  Type.Null()
], { description: 'no body, or an object such as {"at": "processing"} (`at`: queued, validating, processing or pending_refresh)' })

export const FlushResult = Type.Object({ finished: Type.Integer({ minimum: 0, description: 'Jobs run to their end.' }) }, { additionalProperties: false })

/** One received API request. */
export const JournalEntry = Type.Object({
  id: Type.Integer(),
  time: Iso,
  key_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.String(),
  method: Type.String(),
  path: Type.String(),
  status: Type.Integer(),
  duration_ms: Type.Number(),
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.Union([Type.String(), Type.Null()], { description: 'The body as received, up to MOCK_JOURNAL_BODY_BYTES.' }),
  body_bytes: Type.Integer({ minimum: 0 }),
  body_truncated: Type.Boolean()
}, { title: 'JournalEntry', additionalProperties: false })

// Header names are HTTP tokens and values visible ASCII (with space and tab), so a rule can never make an answer unsendable.
const HeaderValues = Type.Record(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]{1,100}$' }), Type.String({ maxLength: 1000, pattern: '^[\\t\\x20-\\x7e]*$' }), { additionalProperties: false, maxProperties: 50 })

/** What a fault rule matches and does. */
export const FaultInput = Type.Object({
  match: Type.Optional(Type.Object({
    method: Type.Optional(Type.String({ pattern: '^[A-Za-z]{1,10}$', description: 'HTTP method; any when absent.' })),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1000, pattern: '^/', description: 'Exact path, or a prefix when it ends with `*`; any when absent.' }))
  }, { additionalProperties: false, default: {} })),
  times: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1 })),
  status: Type.Optional(Type.Integer({ minimum: 200, maximum: 599 })),
  delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000 })),
  body: Type.Optional(Type.Unknown({ description: 'Response body; default: the error envelope for `status`.' })),
  headers: Type.Optional(HeaderValues),
  drop_connection: Type.Optional(Type.Boolean({ description: 'Close the connection without an answer.' }))
}, {
  additionalProperties: false,
  examples: [{ match: { method: 'POST', path: '/v1/users/bulk_identify' }, times: 2, status: 429 }]
})

/** A queued fault as listed. */
export const Fault = Type.Object({
  id: Type.String(),
  key_id: Type.String(),
  match: Type.Object({ method: Type.Union([Type.String(), Type.Null()]), path: Type.Union([Type.String(), Type.Null()]) }, { additionalProperties: false }),
  times_left: Type.Integer(),
  status: Type.Union([Type.Integer(), Type.Null()]),
  delay_ms: Type.Integer(),
  body: Type.Unknown(),
  headers: Type.Record(Type.String(), Type.String()),
  drop_connection: Type.Boolean()
}, { title: 'Fault', additionalProperties: false })

export const FaultsAdded = Type.Object({ faults: Type.Array(Fault) }, { additionalProperties: false })
export const ResetResult = Type.Object({ reset: Type.Union([Type.Literal('key'), Type.Literal('all')]) }, { additionalProperties: false })

export type MockUser = Static<typeof MockUser>
export type MockCompany = Static<typeof MockCompany>
export type MockJob = Static<typeof MockJob>
export type JournalEntry = Static<typeof JournalEntry>
export type FaultInput = Static<typeof FaultInput>
export type Fault = Static<typeof Fault>
