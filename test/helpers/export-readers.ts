import { createRequire } from 'node:module'
import { Readable, type Duplex } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import parquet from '@dsnp/parquetjs'
import Papa from 'papaparse'
import { EXPORT_COLUMN_KINDS, EXPORT_COLUMNS, type ExportedEvent } from '../../src/exports/exported-event.js'
import type { ExportFormat } from '../../src/exports/formats.js'

// Every file is read back by a reader that shares no code with its writer: JSON.parse (NDJSON),
// papaparse (CSV), Apache's avro-js (Avro, writer avsc) and @dsnp/parquetjs (Parquet, writer
// hyparquet-writer). What they read must be exactly the events encoded, in order.

// avro-js ships no types, and its index requires `underscore` (for a deprecated validator)
// without declaring it, so the index cannot load: take the two modules used, by path.
interface AvroJsHeader { meta: Record<string, Buffer> }
const requireCjs = createRequire(import.meta.url)
const avroJsFiles = requireCjs('avro-js/lib/files.js') as {
  streams: { BlockDecoder: new (options: { parseOpts: object }) => Duplex }
}
const avroJsSchemas = requireCjs('avro-js/lib/schemas.js') as {
  types: { LongType: { using: (methods: object) => object } }
}

// avro-js's own long stops at 2^53 ('potential precision loss'): read every long as a bigint
// (through typeHook below: avro-js builds `{type: 'long', logicalType}` without its registry).
const AVRO_JS_BIGINT_LONG = avroJsSchemas.types.LongType.using({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buffer = Buffer.alloc(8)
    buffer.writeBigInt64LE(value)
    return buffer
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (value: unknown) => typeof value === 'bigint',
  compare: (a: bigint, b: bigint) => Math.sign(Number(a - b))
})

/** An event as a reader gives it back: `inserted_at` as text (NDJSON, CSV) or microseconds since the epoch (Avro, Parquet). */
export type ReadEvent = Omit<ExportedEvent, 'inserted_at'> & { inserted_at: string | bigint }

export interface ReadBack { events: ReadEvent[], details: Record<string, unknown> }

function fromCells (cells: Record<string, unknown>, insertedAt: string | bigint): ReadEvent {
  const event: Record<string, unknown> = {}
  for (const column of EXPORT_COLUMNS) event[column] = cells[column]
  event['inserted_at'] = insertedAt
  event['metadata'] = JSON.parse(cells['metadata'] as string)
  return event as ReadEvent
}

async function readNdjson (file: Buffer): Promise<ReadBack> {
  const lines = file.toString('utf8').split('\n')
  const last = lines.pop()
  return { events: lines.map((line) => JSON.parse(line) as ReadEvent), details: { afterLastNewline: last } }
}

async function readCsv (file: Buffer): Promise<ReadBack> {
  const parsed = Papa.parse<string[]>(file.toString('utf8'), { header: false, newline: '\r\n', skipEmptyLines: false })
  const [header, ...rows] = parsed.data
  const afterLastNewline = rows.pop()
  const events = rows.map((row) => {
    const cells: Record<string, unknown> = {}
    EXPORT_COLUMNS.forEach((column, index) => {
      const cell = row[index]
      // CSV has no null: an empty cell of a nullable column reads back as null.
      cells[column] = cell === '' && EXPORT_COLUMN_KINDS[column] === 'nullable' ? null : cell
    })
    return fromCells(cells, cells['inserted_at'] as string)
  })
  const rowLengths = [...new Set(rows.map((row) => row.length))]
  return { events, details: { errors: parsed.errors, header, rowLengths, afterLastNewline } }
}

async function readAvro (file: Buffer): Promise<ReadBack> {
  const decoder = new avroJsFiles.streams.BlockDecoder({
    parseOpts: { typeHook: (schema: { type?: unknown }) => schema.type === 'long' ? AVRO_JS_BIGINT_LONG : undefined }
  })
  // avro-js reads an empty input as no records, silently: the header's codec and schema show there was one.
  const details: Record<string, unknown> = {}
  decoder.on('metadata', (_type: unknown, codec: string, header: AvroJsHeader) => {
    details['codec'] = codec
    details['schema'] = JSON.parse(header.meta['avro.schema']?.toString() ?? 'null')
  })
  const records: Array<Record<string, unknown>> = []
  await pipeline(Readable.from([file]), decoder, async (source: AsyncIterable<Record<string, unknown>>) => {
    for await (const record of source) records.push(record)
  })
  const events = records.map((record) => {
    const cells: Record<string, unknown> = {}
    for (const column of EXPORT_COLUMNS) {
      const value = record[column]
      // avro-js gives a union's non-null value wrapped, as { string: value }.
      cells[column] = EXPORT_COLUMN_KINDS[column] === 'nullable' && value !== null ? (value as { string: string }).string : value
    }
    return fromCells(cells, cells['inserted_at'] as bigint)
  })
  return { events, details }
}

async function readParquet (file: Buffer): Promise<ReadBack> {
  const reader = await parquet.ParquetReader.openBuffer(file)
  try {
    const metadata = reader.metadata!
    // The cursor turns TIMESTAMP_MICROS into a Date (whole milliseconds); the row groups'
    // raw INT64 values are the exact microseconds.
    const micros: bigint[] = []
    for (const rowGroup of metadata.row_groups) {
      const data = await reader.envelopeReader!.readRowGroup(reader.schema, rowGroup, [['inserted_at']])
      micros.push(...(data.columnData!['inserted_at']!.values as unknown as bigint[]))
    }
    const events: ReadEvent[] = []
    let dateMismatches = 0
    const cursor = reader.getCursor()
    for (let row = await cursor.next() as Record<string, unknown> | null; row !== null; row = await cursor.next() as Record<string, unknown> | null) {
      const exact = micros[events.length]!
      // parquetjs divides the bigint by 1000n, toward zero: before 1970 its Date can be 1 ms late.
      if ((row['inserted_at'] as Date).getTime() !== Number(exact / 1000n)) dateMismatches++
      events.push(fromCells(row, exact))
    }
    const timestamp = metadata.schema.find((element) => element.name === 'inserted_at')!
    const fields = reader.getSchema().fields
    return {
      events,
      details: {
        rows: reader.getRowCount().toString(),
        rawTimestamps: micros.length,
        dateMismatches,
        columns: Object.keys(fields),
        types: Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, `${field.repetitionType ?? ''} ${field.primitiveType ?? ''} ${field.originalType ?? ''}`])),
        timestamp: {
          isAdjustedToUTC: timestamp.logicalType?.TIMESTAMP?.isAdjustedToUTC,
          micros: timestamp.logicalType?.TIMESTAMP?.unit?.MICROS !== null,
          millis: timestamp.logicalType?.TIMESTAMP?.unit?.MILLIS !== null,
          nanos: timestamp.logicalType?.TIMESTAMP?.unit?.NANOS !== null
        }
      }
    }
  } finally {
    await reader.close()
  }
}

export const READERS: Record<ExportFormat, (file: Buffer) => Promise<ReadBack>> = { ndjson: readNdjson, csv: readCsv, avro: readAvro, parquet: readParquet }
