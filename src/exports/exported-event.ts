import type { JsonValue } from '../../schemas/bulk.js'
import type { EventRecord } from '../store/event-store.js'

/** One event of an analytics export (SPEC 1.14), with the fields spelled as Userpilot's export spells them. */
export interface ExportedEvent {
  app_token: string
  event_type: string
  event_name: string
  user_id: string | null
  company_id: string | null
  source: string
  /** UTC with microseconds, e.g. `2024-07-28T08:55:35.874555Z`. */
  inserted_at: string
  hostname: string | null
  pathname: string | null
  user_agent: string | null
  metadata: Record<string, JsonValue>
}

/** The fields in file order: the CSV header, the Avro record's fields and the Parquet columns. */
export const EXPORT_COLUMNS = [
  'app_token', 'event_type', 'event_name', 'user_id', 'company_id', 'source',
  'inserted_at', 'hostname', 'pathname', 'user_agent', 'metadata'
] as const satisfies ReadonlyArray<keyof ExportedEvent>

/** One field of an exported event. */
export type ExportColumn = typeof EXPORT_COLUMNS[number]

/**
 * How the typed formats (Avro, Parquet) store each column: `text` never null,
 * `nullable` a string or null, `timestamp` microseconds since the epoch (UTC),
 * `json` the metadata object as JSON text.
 */
export const EXPORT_COLUMN_KINDS: Readonly<Record<ExportColumn, 'text' | 'nullable' | 'timestamp' | 'json'>> = {
  app_token: 'text',
  event_type: 'text',
  event_name: 'text',
  user_id: 'nullable',
  company_id: 'nullable',
  source: 'text',
  inserted_at: 'timestamp',
  hostname: 'nullable',
  pathname: 'nullable',
  user_agent: 'nullable',
  metadata: 'json'
}

/** A kept event as the export writes it, for the environment whose app token is given. */
export function toExportedEvent (event: EventRecord, appToken: string): ExportedEvent {
  return {
    app_token: appToken,
    event_type: event.eventType,
    event_name: event.eventName,
    user_id: event.userId,
    company_id: event.companyId,
    source: event.source,
    inserted_at: insertedAtText(event.insertedAt, event.micros),
    hostname: event.hostname ?? null,
    pathname: event.pathname ?? null,
    user_agent: event.userAgent ?? null,
    metadata: event.metadata
  }
}

/** An event time as the export writes it: UTC, always six fraction digits (`2024-07-28T08:55:35.874555Z`). */
export function insertedAtText (insertedAt: number, micros = 0): string {
  return new Date(insertedAt).toISOString().replace(/Z$/, `${String(micros).padStart(3, '0')}Z`)
}

// Also the ±6-digit years toISOString writes outside 0000–9999, so every valid insertedAt comes back.
const INSERTED_AT_TEXT = /^[+-]?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/

/**
 * The microseconds since the epoch that an `inserted_at` text stands for, as
 * the typed formats store it. A bigint: past the year 2255 the count no longer
 * fits a double exactly, and an import may carry any date.
 */
export function insertedAtMicros (text: string): bigint {
  const millis = Date.parse(`${text.slice(0, -4)}Z`)
  if (!INSERTED_AT_TEXT.test(text) || Number.isNaN(millis)) {
    throw new Error(`inserted_at must be a UTC time with six fraction digits, as insertedAtText writes it; got ${JSON.stringify(text)}.`)
  }
  return BigInt(millis) * 1000n + BigInt(text.slice(-4, -1))
}
