import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import avsc from 'avsc'
import { EXPORT_COLUMN_KINDS, EXPORT_COLUMNS, insertedAtMicros, type ExportedEvent } from './exported-event.js'

/**
 * A 64-bit long held as a bigint. avsc's own `long` refuses anything past
 * 2^53, which `inserted_at` in microseconds passes in the year 2255.
 */
const BIGINT_LONG = avsc.types.LongType.__with({
  fromBuffer: (buffer: Buffer) => buffer.readBigInt64LE(),
  toBuffer: (value: bigint) => {
    const buffer = Buffer.alloc(8)
    buffer.writeBigInt64LE(value)
    return buffer
  },
  // Only avsc's JSON helpers (clone, toString) use these, never the file: as text, a long
  // past 2^53 keeps every digit, where a JSON number would round it.
  fromJSON: BigInt,
  toJSON: String,
  isValid: (value: unknown) => typeof value === 'bigint',
  compare: (a: bigint, b: bigint) => Math.sign(Number(a - b))
})

/** `timestamp-micros` over the bigint long, so the file's schema keeps its logicalType. */
class TimestampMicros extends avsc.types.LogicalType {
  constructor (schema: avsc.Schema, options: object) {
    // avsc asks a typeHook before anything else; given to this type's underlying type
    // only, it makes that type the bigint long instead of avsc's own.
    super(schema, { ...options, typeHook: () => BIGINT_LONG })
  }

  protected override _fromValue (value: bigint): bigint { return value }
  protected override _toValue (value: bigint): bigint { return value }
}

const AVRO_FIELD_TYPES = {
  text: 'string',
  nullable: ['null', 'string'],
  timestamp: { type: 'long', logicalType: 'timestamp-micros' },
  json: 'string'
} as const

// The schema every Avro export file carries in its header.
const AVRO_SCHEMA = {
  type: 'record',
  name: 'ExportedEvent',
  namespace: 'userpilot_mock',
  doc: 'One event of an analytics export. inserted_at: microseconds since the epoch, UTC; metadata: a JSON object as text.',
  fields: EXPORT_COLUMNS.map((name) => {
    const kind = EXPORT_COLUMN_KINDS[name]
    return kind === 'nullable' ? { name, type: AVRO_FIELD_TYPES[kind], default: null } : { name, type: AVRO_FIELD_TYPES[kind] }
  })
}

/** The avsc type export files are written with (`inserted_at` a bigint). */
export const AVRO_TYPE = avsc.Type.forSchema(AVRO_SCHEMA as avsc.Schema, { logicalTypes: { 'timestamp-micros': TimestampMicros } })

/**
 * An Avro Object Container File: the header (schema, codec `deflate`, sync
 * marker), then the events in deflate-compressed blocks. No events: the header alone.
 */
export async function encodeAvro (events: readonly ExportedEvent[]): Promise<Buffer> {
  const records = events.map((event) => ({ ...event, inserted_at: insertedAtMicros(event.inserted_at), metadata: JSON.stringify(event.metadata) }))
  const chunks: Buffer[] = []
  // 'always': avsc would otherwise write the header with the first record only, leaving an empty file for no events.
  const encoder = new avsc.streams.BlockEncoder(AVRO_TYPE, { codec: 'deflate', writeHeader: 'always' })
  await pipeline(Readable.from(records), encoder, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) chunks.push(chunk)
  })
  return Buffer.concat(chunks)
}
