import { Type, type TObject } from '@sinclair/typebox'
import { MetadataSchema, type MetadataMode } from './bulk.js'
import { StringEnum } from './enums.js'
import type { EventType } from './events.js'

/** Where an imported row says it came from (SPEC 1.13), as Userpilot's import docs list them. */
export const IMPORT_SOURCES = ['web-client', 'backend-http', 'backend-hubspot', 'backend-salesforce', 'backend-segment', 'backend-http-import'] as const
export type ImportSource = typeof IMPORT_SOURCES[number]
export const ImportSourceSchema = StringEnum(IMPORT_SOURCES, {
  description: 'Where the row came from. `web-client` rows (except identify_company) also need `hostname`, `pathname` and `user_agent`; a `url` may stand for the first two.'
})

/** The row types of an import, in the order the docs list them. */
export const IMPORT_EVENT_TYPES = ['identify_user', 'identify_company', 'page_view', 'track'] as const satisfies readonly EventType[]

/** Every field an import row may carry; anything else is reported as `unknown_field`. */
export const IMPORT_FIELDS = ['event_type', 'user_id', 'company_id', 'event_name', 'metadata', 'source', 'inserted_at', 'hostname', 'pathname', 'url', 'user_agent'] as const
export type ImportField = typeof IMPORT_FIELDS[number]

const text = (description: string) => Type.String({ minLength: 1, description })

const insertedAt = Type.String({
  description: 'When it happened: ISO 8601 such as `2024-07-28T08:55:35.874Z` (a zone `Z` or `±hh:mm`, or none), or the docs\' own `2024-07-28 08:55:35.874555`. No zone means UTC; digits past the millisecond are kept as microseconds.',
  examples: ['2024-07-28T08:55:35.874Z', '2024-07-28 08:55:35.874555']
})

const optionalCompany = Type.Optional(text('The user\'s company: kept on the event; on identify_user it also moves the user into it, as in bulk identify.'))
const url = Type.Optional(text('The page\'s absolute URL; when present it overrides `hostname` and `pathname`.'))
const userAgent = Type.Optional(text('The browser\'s user agent; required when `source` is `web-client`.'))
const hostname = text('The page\'s host, e.g. `app.example.com` (or give `url`).')
const pathname = text('The page\'s path, e.g. `/settings` (or give `url`).')

function metadata (mode: MetadataMode, description: string) {
  return Type.Optional({ ...MetadataSchema(mode), description })
}

const IDENTIFY_METADATA = 'The docs list it as required, and their row rules say a missing `metadata` is `{}`: merged into the profile; `null` removes a property. In a CSV file: one `metadata` column holding a JSON object, or `metadata.<key>` columns of text.'

/**
 * One row of each type, as the import docs list its fields. These document the
 * rows and give each type's required fields and the fields it uses; the
 * conditional rules (`url` for `hostname`/`pathname`, `web-client`) and the
 * timestamp forms are checked in src/imports/validate-row.ts.
 */
export function ImportRowSchemas (mode: MetadataMode): Readonly<Record<typeof IMPORT_EVENT_TYPES[number], TObject>> {
  const common = { source: ImportSourceSchema, inserted_at: insertedAt }
  return {
    identify_user: Type.Object({
      event_type: Type.Literal('identify_user'),
      user_id: text('The user to create or update.'),
      company_id: optionalCompany,
      metadata: metadata(mode, IDENTIFY_METADATA),
      ...common,
      hostname: Type.Optional(hostname),
      pathname: Type.Optional(pathname),
      url,
      user_agent: userAgent
    }, { title: 'ImportIdentifyUserRow', examples: [{ event_type: 'identify_user', user_id: 'user_123', metadata: { plan: 'pro' }, source: 'backend-http-import', inserted_at: '2024-07-28 08:55:35.874555' }] }),
    identify_company: Type.Object({
      event_type: Type.Literal('identify_company'),
      company_id: text('The company to create or update.'),
      metadata: metadata(mode, IDENTIFY_METADATA),
      ...common
    }, {
      title: 'ImportIdentifyCompanyRow',
      description: 'Only `company_id`, `source`, `inserted_at` and `metadata` are used; other fields of the import are ignored.',
      examples: [{ event_type: 'identify_company', company_id: 'comp_1', metadata: { name: 'Acme' }, source: 'backend-http-import', inserted_at: '2024-07-28T08:55:35Z' }]
    }),
    page_view: Type.Object({
      event_type: Type.Literal('page_view'),
      user_id: text('The user who viewed the page.'),
      company_id: optionalCompany,
      hostname,
      pathname,
      url,
      user_agent: userAgent,
      metadata: metadata(mode, 'Optional; `{}` when missing.'),
      ...common
    }, { title: 'ImportPageViewRow', examples: [{ event_type: 'page_view', user_id: 'user_123', url: 'https://app.example.com/settings', user_agent: 'Mozilla/5.0', source: 'web-client', inserted_at: '2024-07-28T08:55:35.874Z' }] }),
    track: Type.Object({
      event_type: Type.Literal('track'),
      user_id: text('The user who did it.'),
      company_id: optionalCompany,
      event_name: text('The tracked event\'s name.'),
      metadata: metadata(mode, 'Optional; `{}` when missing.'),
      ...common,
      hostname: Type.Optional(hostname),
      pathname: Type.Optional(pathname),
      url,
      user_agent: userAgent
    }, { title: 'ImportTrackRow', examples: [{ event_type: 'track', user_id: 'user_123', event_name: 'Subscription Renewed', source: 'backend-http', inserted_at: '2024-07-28T10:55:35+02:00' }] })
  }
}

/** The multipart body of `POST /v1/imports`, for the OpenAPI document (the file is read as a stream, row by row). */
export const ImportUploadSchema = Type.Object({
  file: Type.String({
    format: 'binary',
    description: 'A CSV file (a header row of field names, then one row per line) or an NDJSON file (one JSON object per line). ' +
      'The format comes from the file name (.csv, or .ndjson/.jsonl/.json), else from the part\'s Content-Type, else from the first character (`{`: NDJSON). ' +
      'Each row is an identify_user, identify_company, page_view or track (see the Import*Row schemas).'
  })
}, { required: ['file'] })
