import { Type, type Static, type TArray, type TString } from '@sinclair/typebox'
import { StringEnum } from './enums.js'
import './formats.js'

/** The file formats of an export (SPEC 1.14). */
export const EXPORT_FORMAT_NAMES = ['ndjson', 'csv', 'avro', 'parquet'] as const
/** Where an export job is: it never goes back, and `completed` and `failed` are final. */
export const EXPORT_STATUSES = ['pending', 'processing', 'completed', 'failed'] as const
export type ExportStatus = typeof EXPORT_STATUSES[number]

function Ids (what: string): TArray<TString> {
  return Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { maxItems: 10_000, description: `Only events of these ${what}.` })
}

/** The filters and format of an export: every field optional; no filter exports every kept event. */
export const ExportFilterBody = Type.Object({
  from: Type.Optional(Type.String({ format: 'date-time', description: 'Events inserted at or after this time (ISO 8601).' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'Events inserted before this time (ISO 8601).' })),
  emails: Type.Optional(Type.Array(Type.String(), { maxItems: 10_000, description: 'Accepted; the mock keeps no e-mail on events, so it filters nothing (warning `ignored_filter`).' })),
  event_type: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, description: 'Only these event types (`identify_user`, `identify_company`, `track`, `page_view`).' })),
  user_id: Type.Optional(Ids('users')),
  company_id: Type.Optional(Ids('companies')),
  segment_id: Type.Optional(Type.Union([Type.String(), Type.Integer()], { description: 'Accepted; segments are not evaluated by the mock (warning `ignored_filter`).' })),
  exclusions: Type.Optional(Type.Unknown({ description: 'Accepted; not applied by the mock (warning `ignored_filter`).' })),
  format: Type.Optional(StringEnum(EXPORT_FORMAT_NAMES, { description: 'File format of the export; default `ndjson`.', default: 'ndjson' }))
}, { title: 'ExportRequest', additionalProperties: true })

/** `POST /api/v1/analytics/exports`: the filters, or no body at all (every event, as NDJSON). */
export const ExportRequest = Type.Union([ExportFilterBody, Type.Null()], { description: 'no body, or the filters and format of the export' })

/** The 201 answer: the job and where to poll it. */
export const ExportCreated = Type.Object({
  job_id: Type.String(),
  environment_app_token: Type.String({ description: "The key's environment id (`NX-…`)." }),
  environment_name: Type.String(),
  links: Type.String({ description: "Absolute URL of the job's status endpoint." }),
  start_time: Type.String({ format: 'date-time' })
}, { title: 'ExportCreated', additionalProperties: false })

export const PresignedUrl = Type.Object({
  filename: Type.String(),
  url: Type.String({ description: 'Signed link to the file, served by the mock; it expires 2 days after the file was written (mock clock).' })
}, { additionalProperties: false })

/** `GET /api/v1/analytics/exports/jobs/{job_id}`. */
export const ExportJob = Type.Object({
  app_token: Type.String(),
  job_id: Type.String(),
  status: StringEnum(EXPORT_STATUSES),
  type: Type.String({ description: 'The file format of the export.' }),
  progress: Type.Integer({ minimum: 0, maximum: 100, description: 'Percent of the kept events read so far.' }),
  start_time: Type.String({ format: 'date-time' }),
  end_time: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  current_chunk: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], { description: 'The chunk being written, null when none is.' }),
  completed_chunks: Type.Array(Type.Integer({ minimum: 1 })),
  all_chunks: Type.Array(Type.Integer({ minimum: 1 }), { description: 'Every chunk known so far: the completed ones and the current one.' }),
  presigned_urls: Type.Array(PresignedUrl)
}, { title: 'ExportJob', additionalProperties: false })

/** One entry of `GET /api/v1/analytics/exports/jobs/`. */
export const ExportJobSummary = Type.Object({
  job_id: Type.String(),
  status: StringEnum(EXPORT_STATUSES),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  start_time: Type.String({ format: 'date-time' }),
  end_time: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  elapsed_time: Type.String({ description: '`H:MM:SS` from start to end, or to now while running.' }),
  elapsed_time_seconds: Type.Integer({ minimum: 0 })
}, { title: 'ExportJobSummary', additionalProperties: false })

export const ExportJobList = Type.Array(ExportJobSummary, { title: 'ExportJobList' })

export const ExportJobParams = Type.Object({
  job_id: Type.String({ minLength: 1, maxLength: 200 })
})

export const ExportFileParams = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: 100 }),
  job_id: Type.String({ minLength: 1, maxLength: 200 }),
  filename: Type.String({ minLength: 1, maxLength: 200 })
})

export const ExportFileQuery = Type.Object({
  expires: Type.Optional(Type.String({ maxLength: 20 })),
  signature: Type.Optional(Type.String({ maxLength: 128 }))
})

export type ExportRequest = Static<typeof ExportFilterBody>
export type ExportJob = Static<typeof ExportJob>
export type ExportJobSummary = Static<typeof ExportJobSummary>

/** An export job as the control API shows it: everything the mock keeps of it. */
export const MockExport = Type.Object({
  key_id: Type.String(),
  job_id: Type.String(),
  status: StringEnum(EXPORT_STATUSES),
  format: StringEnum(EXPORT_FORMAT_NAMES),
  progress: Type.Integer({ minimum: 0, maximum: 100 }),
  created_at: Type.String({ format: 'date-time' }),
  end_time: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  filters: Type.Object({
    from: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    to: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    event_type: Type.Union([Type.Array(Type.String()), Type.Null()]),
    user_id: Type.Union([Type.Array(Type.String()), Type.Null()]),
    company_id: Type.Union([Type.Array(Type.String()), Type.Null()])
  }, { additionalProperties: false }),
  chunks: Type.Array(Type.Object({
    number: Type.Integer({ minimum: 1 }),
    filename: Type.String(),
    events: Type.Integer({ minimum: 0 }),
    bytes: Type.Integer({ minimum: 0 }),
    written_at: Type.String({ format: 'date-time' }),
    url: Type.String({ description: 'The presigned download link, as the job status gives it.' })
  }, { additionalProperties: false })),
  fail_at: Type.Union([Type.Literal('pending'), Type.Literal('processing'), Type.Null()])
}, { title: 'MockExport', additionalProperties: false })

export const ExportAdvanceBody = Type.Union([
  Type.Object({ to: Type.Optional(StringEnum(EXPORT_STATUSES)) }, { additionalProperties: false }),
  Type.Null()
], { description: 'no body (one step: pending → processing, or one more file), or {"to": "completed"}' })

export type MockExport = Static<typeof MockExport>
