import { EXPORT_COLUMNS, type ExportedEvent } from './exported-event.js'

/** An NDJSON export file: one JSON object per event, each line ended by `\n`; no events, an empty file. */
export function encodeNdjson (events: readonly ExportedEvent[]): Buffer {
  // Fields picked in column order, so a line never carries more than the export's fields.
  const lines = events.map((event) => JSON.stringify(Object.fromEntries(EXPORT_COLUMNS.map((column) => [column, event[column]]))) + '\n')
  return Buffer.from(lines.join(''), 'utf8')
}
