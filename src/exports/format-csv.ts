import { stringify } from 'csv-stringify/sync'
import { EXPORT_COLUMNS, type ExportedEvent } from './exported-event.js'

/**
 * A CSV export file: a header row of EXPORT_COLUMNS, then one row per event,
 * RFC 4180 (CRLF after each row, a cell holding a comma, quote or line break in
 * double quotes, quotes doubled); `metadata` as JSON text, null as an empty cell.
 * Cells go out exactly as kept, without the `'` that spreadsheet-injection
 * guards put before `=`, `+`, `-` or `@`: the export must give back what was sent.
 */
export function encodeCsv (events: readonly ExportedEvent[]): Buffer {
  const rows = events.map((event) => EXPORT_COLUMNS.map((column) => column === 'metadata' ? JSON.stringify(event.metadata) : event[column]))
  return Buffer.from(stringify(rows, { header: true, columns: [...EXPORT_COLUMNS], record_delimiter: 'windows' }), 'utf8')
}
