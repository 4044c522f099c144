import type { ColumnSource, SchemaElement } from 'hyparquet-writer'
import { EXPORT_COLUMN_KINDS, EXPORT_COLUMNS, insertedAtMicros, type ExportColumn, type ExportedEvent } from './exported-event.js'

const UTF8 = { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' } } as const

const PARQUET_COLUMN_TYPES = {
  text: { ...UTF8, repetition_type: 'REQUIRED' },
  nullable: { ...UTF8, repetition_type: 'OPTIONAL' },
  // Both annotations: the converted type for older readers, the logical type (UTC, micros) for newer ones.
  timestamp: { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' }, repetition_type: 'REQUIRED' },
  json: { ...UTF8, repetition_type: 'REQUIRED' }
} as const satisfies Record<string, Omit<SchemaElement, 'name'>>

// The schema of every Parquet export file: a root and one column per EXPORT_COLUMNS entry.
const PARQUET_SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: EXPORT_COLUMNS.length },
  ...EXPORT_COLUMNS.map((name) => ({ name, ...PARQUET_COLUMN_TYPES[EXPORT_COLUMN_KINDS[name]] }))
]

function columnValues (events: readonly ExportedEvent[], column: ExportColumn): Array<string | null | bigint> {
  switch (EXPORT_COLUMN_KINDS[column]) {
    case 'timestamp': return events.map((event) => insertedAtMicros(event.inserted_at))
    case 'json': return events.map((event) => JSON.stringify(event.metadata))
    default: return events.map((event) => event[column] as string | null)
  }
}

/**
 * A Parquet file (hyparquet-writer's defaults: snappy pages, dictionaries
 * where they pay, statistics); `inserted_at` INT64 TIMESTAMP(MICROS, UTC),
 * `metadata` UTF8 JSON text. No events: the schema and zero rows.
 */
export async function encodeParquet (events: readonly ExportedEvent[]): Promise<Buffer> {
  // Loaded on first use. hyparquet-writer is ES-only: the CommonJS build of the library (and
  // Jest's runtime) can load the rest of the mock without it. And tap's TypeScript loader
  // (ts-node's copy of an old Node resolver) cannot resolve the `hyparquet/src/*.js` export
  // pattern hyparquet-writer imports through, so only the run that writes Parquet meets that.
  const { parquetWriteBuffer } = await import('hyparquet-writer')
  const columnData: ColumnSource[] = EXPORT_COLUMNS.map((name) => ({ name, data: columnValues(events, name) }))
  return Buffer.from(parquetWriteBuffer({ columnData, schema: PARQUET_SCHEMA }))
}
