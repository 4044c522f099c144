import { Type, type Static } from '@sinclair/typebox'
import { StringEnum } from './enums.js'
import { EventTypeSchema } from './events.js'
import { JOB_STAGES, JobStatusSchema, PageParams } from './jobs.js'

/** The stages a job can be told to fail at (`X-Mock-Job-Outcome: failed@<stage>`, `POST …/fail`). */
export const FailStageSchema = StringEnum(JOB_STAGES)

const Iso = Type.String({ format: 'date-time' })
// Keys may hold line breaks: the serializer tests this pattern without the `s` flag, so `.` would drop them.
// Values are primitives, or objects and arrays that real-time calls sent nested (kept as sent).
const MetadataOut = Type.Record(Type.String({ pattern: '^[\\s\\S]*$' }), Type.Unknown({ description: 'A string, number or boolean; an object or array when a real-time call sent one.' }))

/** What last changed a profile: a bulk job, or a real-time request (by its request id). */
export const TouchedBy = Type.Object({
  type: StringEnum(['job', 'request'] as const),
  id: Type.String({ description: 'The job id, or the x-request-id of the request.' })
}, { additionalProperties: false })

const profileTrail = {
  last_touched_by: TouchedBy,
  last_job_id: Type.Union([Type.String(), Type.Null()], { description: 'The job id when a bulk job touched the profile last, else null.' }),
  deletion_scheduled_at: Type.Union([Iso, Type.Null()], { description: 'When a pending DELETE request will forget the profile (the next 02:00 UTC after it).' })
}

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
  ...profileTrail
}, { title: 'MockUser', additionalProperties: false })

/** A stored company; `user_count` is derived from the users. */
export const MockCompany = Type.Object({
  key_id: Type.String(),
  company_id: Type.String(),
  metadata: MetadataOut,
  user_count: Type.Integer({ minimum: 0 }),
  created_at: Iso,
  updated_at: Iso,
  ...profileTrail
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

const Deleted = Type.Object({
  users: Type.Integer({ minimum: 0 }),
  companies: Type.Integer({ minimum: 0 })
}, { additionalProperties: false, description: 'Profiles whose scheduled deletion was carried out.' })

export const FlushResult = Type.Object({
  finished: Type.Integer({ minimum: 0, description: 'Jobs run to their end.' }),
  deleted: Deleted
}, { additionalProperties: false })

/** An event kept from a real-time call, with the field names of Userpilot's export. */
export const MockEvent = Type.Object({
  key_id: Type.String(),
  event_type: EventTypeSchema,
  event_name: Type.String({ description: 'The tracked event\'s name; empty for identify events.' }),
  user_id: Type.Union([Type.String(), Type.Null()]),
  company_id: Type.Union([Type.String(), Type.Null()], { description: 'The company given, or the user\'s company at the time.' }),
  metadata: MetadataOut,
  source: Type.String({ description: '`backend-http` for real-time calls; an import row\'s own source.' }),
  inserted_at: Type.String({ format: 'date-time', description: 'When it happened: the call\'s time, or an import row\'s own `inserted_at` (with its microseconds when it had them).' }),
  request_id: Type.String({ description: 'The x-request-id of the call that sent it, or the id of the import job whose file held it.' }),
  hostname: Type.Optional(Type.String({ description: 'Page views and web-client import rows only.' })),
  pathname: Type.Optional(Type.String()),
  user_agent: Type.Optional(Type.String())
}, { title: 'MockEvent', additionalProperties: false })

export const EventsQuery = Type.Object({
  ...PageQuery.properties,
  user_id: Type.Optional(Type.String()),
  company_id: Type.Optional(Type.String()),
  event_type: Type.Optional(EventTypeSchema),
  event_name: Type.Optional(Type.String())
})

/** A deletion waiting for 02:00 UTC. */
export const MockDeletion = Type.Object({
  key_id: Type.String(),
  type: StringEnum(['users', 'companies'] as const, { description: 'What is deleted: a user or a company.' }),
  id: Type.String(),
  deletion_scheduled_at: Iso
}, { title: 'MockDeletion', additionalProperties: false })

export const RequestsQuery = Type.Object({
  ...PageQuery.properties,
  warnings: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('1'), Type.Literal('false'), Type.Literal('0')], { description: '`true`: only requests with fidelity warnings.' }))
})

/** What a request did that the docs forbid or do not name, and the mock tolerated (SPEC 1.12). */
export const WARNING_CODES = ['missing_api_version', 'unknown_api_version', 'unknown_field', 'nested_metadata', 'unknown_user', 'ignored_filter'] as const
export type WarningCode = typeof WARNING_CODES[number]

/** A fidelity warning on a journal entry; MOCK_STRICT=true answers 400 with `code` as the error_code instead. */
export const Warning = Type.Object({
  code: StringEnum(WARNING_CODES),
  message: Type.String(),
  path: Type.Optional(Type.String({ description: 'Where in the body, as a JSON pointer (or `line N: /field` in an upload); absent for a header.' }))
}, { title: 'Warning', additionalProperties: false })

/** One received API request. */
export const JournalEntry = Type.Object({
  id: Type.Integer(),
  time: Iso,
  key_id: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.String(),
  method: Type.String(),
  path: Type.String(),
  status: Type.Integer({ description: 'The answer\'s status; 0 when a fault dropped the connection without one.' }),
  duration_ms: Type.Number(),
  headers: Type.Record(Type.String(), Type.String()),
  body: Type.Union([Type.String(), Type.Null()], { description: 'The body as received, up to MOCK_JOURNAL_BODY_BYTES.' }),
  body_bytes: Type.Integer({ minimum: 0 }),
  body_truncated: Type.Boolean(),
  warnings: Type.Array(Warning, { description: 'Where the request strays from the docs; empty when it does not.' })
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
export type Warning = Static<typeof Warning>
export type FaultInput = Static<typeof FaultInput>
export type MockEvent = Static<typeof MockEvent>
export type MockDeletion = Static<typeof MockDeletion>
export type Fault = Static<typeof Fault>
