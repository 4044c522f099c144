import { EXPORT_FORMAT_NAMES } from '../../schemas/exports.js'
import { encodeNdjson } from './format-ndjson.js'
import type { ExportedEvent } from './exported-event.js'

/** The file formats an export can be asked for (SPEC 1.14); `ndjson` first, the default. */
export const EXPORT_FORMATS = EXPORT_FORMAT_NAMES
/** One export file format. */
export type ExportFormat = typeof EXPORT_FORMATS[number]

interface FormatSpec {
  contentType: string
  encode: (events: readonly ExportedEvent[]) => Buffer | Promise<Buffer>
}

// The writers of the other formats (and their libraries) load on their first file, not at
// start-up: most mocks never export, and a start that loads less answers sooner.
const FORMATS: Record<ExportFormat, FormatSpec> = {
  ndjson: { contentType: 'application/x-ndjson', encode: encodeNdjson },
  csv: { contentType: 'text/csv; charset=utf-8', encode: async (events) => (await import('./format-csv.js')).encodeCsv(events) },
  // Avro has no registered media type. `avro/binary`, which the Avro spec names for its
  // RPC over HTTP, is no valid RFC 6838 type (no `avro` top-level type exists) and means
  // framed RPC messages, not a container file; `application/avro` is what AVRO-488 proposed.
  avro: { contentType: 'application/avro', encode: async (events) => await (await import('./format-avro.js')).encodeAvro(events) },
  // Registered with IANA by the Apache Parquet project.
  parquet: { contentType: 'application/vnd.apache.parquet', encode: async (events) => await (await import('./format-parquet.js')).encodeParquet(events) }
}

/** The file name extension (no dot) of an export file of this format. */
export function fileExtension (format: ExportFormat): string {
  return format
}

/** The Content-Type an export file of this format is served with. */
export function contentType (format: ExportFormat): string {
  return FORMATS[format].contentType
}

/**
 * One complete, self-contained export file holding these events in order: the
 * caller encodes an export a chunk at a time, one file per chunk. Zero events
 * still make a valid file (empty NDJSON, header-only CSV, schema-only Avro and Parquet).
 */
export async function encodeEvents (format: ExportFormat, events: readonly ExportedEvent[]): Promise<Buffer> {
  return await FORMATS[format].encode(events)
}
