import t from 'tap'
import { EXPORT_COLUMNS, toExportedEvent, type ExportedEvent } from '../../src/exports/exported-event.js'
import { AVRO_TYPE } from '../../src/exports/format-avro.js'
import { EXPORT_FORMATS, contentType, encodeEvents, fileExtension, type ExportFormat } from '../../src/exports/formats.js'
import type { EventRecord } from '../../src/store/event-store.js'
import { READERS, type ReadEvent } from '../helpers/export-readers.js'

// Every file is read back by a reader that shares no code with its writer (test/helpers/export-readers.ts).

/** What a reader of this format must find: the typed formats keep `inserted_at` as microseconds. */
function expected (format: ExportFormat, events: readonly ExportedEvent[], micros: readonly bigint[]): ReadEvent[] {
  return format === 'avro' || format === 'parquet' ? events.map((event, index) => ({ ...event, inserted_at: micros[index]! })) : [...events]
}

const T = Date.parse('2024-07-28T08:55:35.874Z')
const MAX_DATE = 8.64e15
const APP_TOKEN = 'NX-1a2b3c'

function record (fields: Partial<EventRecord>): EventRecord {
  return { tenant: 'tenant-a', eventType: 'track', eventName: 'Clicked', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: T, requestId: 'req-1', ...fields }
}

// The hard cases, with what the export must say for each, written out by hand.
const SAMPLES: Array<{ event: EventRecord, exported: ExportedEvent, micros: bigint }> = [
  {
    event: record({ eventType: 'identify_user', eventName: '', userId: 'user-ü-😀-漢字', micros: 555 }),
    exported: { app_token: APP_TOKEN, event_type: 'identify_user', event_name: '', user_id: 'user-ü-😀-漢字', company_id: null, source: 'backend-http', inserted_at: '2024-07-28T08:55:35.874555Z', hostname: null, pathname: null, user_agent: null, metadata: {} },
    micros: 1722156935874555n
  },
  {
    event: record({
      eventName: 'Plan, "Pro"\nrenewed',
      userId: '=cmd|\' /C calc\'!A0',
      companyId: 'c,1',
      metadata: { plan: { name: 'Pro "annual"', seats: 3, tags: ['a,b', '漢字', null], active: true }, note: 'line1\r\nline2', '+SUM(A1)': '@x', '😀': '' },
      insertedAt: 0
    }),
    exported: { app_token: APP_TOKEN, event_type: 'track', event_name: 'Plan, "Pro"\nrenewed', user_id: '=cmd|\' /C calc\'!A0', company_id: 'c,1', source: 'backend-http', inserted_at: '1970-01-01T00:00:00.000000Z', hostname: null, pathname: null, user_agent: null, metadata: { plan: { name: 'Pro "annual"', seats: 3, tags: ['a,b', '漢字', null], active: true }, note: 'line1\r\nline2', '+SUM(A1)': '@x', '😀': '' } },
    micros: 0n
  },
  {
    event: record({ eventType: 'page_view', eventName: '', source: 'web-client', hostname: 'app.example.com', pathname: '/billing?tab=plans&q=a,b', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"', insertedAt: -1, micros: 1, metadata: { ' padded ': ' kept ' } }),
    exported: { app_token: APP_TOKEN, event_type: 'page_view', event_name: '', user_id: 'u1', company_id: null, source: 'web-client', inserted_at: '1969-12-31T23:59:59.999001Z', hostname: 'app.example.com', pathname: '/billing?tab=plans&q=a,b', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted"', metadata: { ' padded ': ' kept ' } },
    micros: -999n
  },
  {
    event: record({ eventType: 'identify_company', eventName: '', userId: null, companyId: 'ACME 株式会社', metadata: { name: 'Acme', formula: '-1+1', quote: '"' }, insertedAt: Date.parse('9999-12-31T23:59:59.999Z'), micros: 999 }),
    exported: { app_token: APP_TOKEN, event_type: 'identify_company', event_name: '', user_id: null, company_id: 'ACME 株式会社', source: 'backend-http', inserted_at: '9999-12-31T23:59:59.999999Z', hostname: null, pathname: null, user_agent: null, metadata: { name: 'Acme', formula: '-1+1', quote: '"' } },
    micros: 253402300799999999n
  },
  {
    event: record({ eventName: ' spaced ', userId: '"', companyId: ' ', insertedAt: MAX_DATE, micros: 7 }),
    exported: { app_token: APP_TOKEN, event_type: 'track', event_name: ' spaced ', user_id: '"', company_id: ' ', source: 'backend-http', inserted_at: '+275760-09-13T00:00:00.000007Z', hostname: null, pathname: null, user_agent: null, metadata: {} },
    micros: 8640000000000000007n
  },
  {
    event: record({ eventName: 'first', insertedAt: -MAX_DATE }),
    exported: { app_token: APP_TOKEN, event_type: 'track', event_name: 'first', user_id: 'u1', company_id: null, source: 'backend-http', inserted_at: '-271821-04-20T00:00:00.000000Z', hostname: null, pathname: null, user_agent: null, metadata: {} },
    micros: -8640000000000000000n
  }
]

const sampleEvents = SAMPLES.map((sample) => toExportedEvent(sample.event, APP_TOKEN))

t.test('the samples map as written out', async (t) => {
  t.strictSame(sampleEvents, SAMPLES.map((sample) => sample.exported))
})

/** 10,000 events: every type, nulls and non-nulls, microseconds or none, metadata of varied shape. */
function manyEvents (): { events: ExportedEvent[], micros: bigint[] } {
  const types = ['identify_user', 'identify_company', 'track', 'page_view'] as const
  const records = Array.from({ length: 10_000 }, (_, n) => {
    const eventType = types[n % 4]!
    return record({
      eventType,
      eventName: eventType === 'track' ? `Event ${n % 37}, "#${n}"` : '',
      userId: eventType === 'identify_company' ? null : `user-${n}-ü`,
      companyId: n % 3 === 0 ? `company-${n % 11}` : null,
      metadata: n % 5 === 0 ? {} : { n, nested: { even: n % 2 === 0, list: [n, `x${n}`] }, text: `line ${n}\nnext` },
      source: eventType === 'page_view' ? 'web-client' : 'backend-http',
      insertedAt: T + n * 1013,
      ...(n % 2 === 0 ? { micros: (n % 999) + 1 } : {}),
      ...(eventType === 'page_view' ? { hostname: 'app.example.com', pathname: `/p/${n}`, userAgent: 'Mozilla/5.0' } : {})
    })
  })
  return {
    events: records.map((each) => toExportedEvent(each, APP_TOKEN)),
    micros: records.map((each) => BigInt(each.insertedAt) * 1000n + BigInt(each.micros ?? 0))
  }
}

const EXPECTED_AVRO_SCHEMA = {
  name: 'userpilot_mock.ExportedEvent',
  type: 'record',
  fields: [
    { name: 'app_token', type: 'string' },
    { name: 'event_type', type: 'string' },
    { name: 'event_name', type: 'string' },
    { name: 'user_id', type: ['null', 'string'], default: null },
    { name: 'company_id', type: ['null', 'string'], default: null },
    { name: 'source', type: 'string' },
    { name: 'inserted_at', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'hostname', type: ['null', 'string'], default: null },
    { name: 'pathname', type: ['null', 'string'], default: null },
    { name: 'user_agent', type: ['null', 'string'], default: null },
    { name: 'metadata', type: 'string' }
  ],
  doc: 'One event of an analytics export. inserted_at: microseconds since the epoch, UTC; metadata: a JSON object as text.'
}

const EXPECTED_PARQUET_TYPES = {
  app_token: 'REQUIRED BYTE_ARRAY UTF8',
  event_type: 'REQUIRED BYTE_ARRAY UTF8',
  event_name: 'REQUIRED BYTE_ARRAY UTF8',
  user_id: 'OPTIONAL BYTE_ARRAY UTF8',
  company_id: 'OPTIONAL BYTE_ARRAY UTF8',
  source: 'REQUIRED BYTE_ARRAY UTF8',
  inserted_at: 'REQUIRED INT64 TIMESTAMP_MICROS',
  hostname: 'OPTIONAL BYTE_ARRAY UTF8',
  pathname: 'OPTIONAL BYTE_ARRAY UTF8',
  user_agent: 'OPTIONAL BYTE_ARRAY UTF8',
  metadata: 'REQUIRED BYTE_ARRAY UTF8'
}

/** What a reader must see around the events of a file of `count` events. */
function expectedDetails (format: ExportFormat, count: number): Record<string, unknown> {
  switch (format) {
    case 'ndjson': return { afterLastNewline: '' }
    case 'csv': return { errors: [], header: [...EXPORT_COLUMNS], rowLengths: count === 0 ? [] : [EXPORT_COLUMNS.length], afterLastNewline: [''] }
    case 'avro': return { codec: 'deflate', schema: EXPECTED_AVRO_SCHEMA }
    case 'parquet': return {
      rows: String(count),
      rawTimestamps: count,
      dateMismatches: 0,
      columns: [...EXPORT_COLUMNS],
      types: EXPECTED_PARQUET_TYPES,
      timestamp: { isAdjustedToUTC: true, micros: true, millis: false, nanos: false }
    }
  }
}

t.test('formats: names, extensions, content types', async (t) => {
  t.strictSame(EXPORT_FORMATS, ['ndjson', 'csv', 'avro', 'parquet'])
  t.strictSame(EXPORT_FORMATS.map(fileExtension), ['ndjson', 'csv', 'avro', 'parquet'])
  t.strictSame(EXPORT_FORMATS.map(contentType), ['application/x-ndjson', 'text/csv; charset=utf-8', 'application/avro', 'application/vnd.apache.parquet'])
})

for (const format of EXPORT_FORMATS) {
  t.test(`${format}: the hard cases read back exactly, in order`, async (t) => {
    const file = await encodeEvents(format, sampleEvents)
    t.ok(Buffer.isBuffer(file))
    t.strictSame(await READERS[format](file), {
      events: expected(format, SAMPLES.map((sample) => sample.exported), SAMPLES.map((sample) => sample.micros)),
      details: expectedDetails(format, SAMPLES.length)
    })
  })

  t.test(`${format}: 10,000 events read back exactly, in order`, async (t) => {
    const { events, micros } = manyEvents()
    const read = await READERS[format](await encodeEvents(format, events))
    t.equal(read.events.length, 10_000)
    t.strictSame(read, { events: expected(format, events, micros), details: expectedDetails(format, 10_000) })
  })

  t.test(`${format}: no events, still a whole file`, async (t) => {
    t.strictSame(await READERS[format](await encodeEvents(format, [])), { events: [], details: expectedDetails(format, 0) })
  })
}

t.test('ndjson: one JSON object per line, fields in column order; no events, an empty file', async (t) => {
  const file = await encodeEvents('ndjson', sampleEvents.slice(0, 2))
  t.equal(file.toString('utf8'),
    '{"app_token":"NX-1a2b3c","event_type":"identify_user","event_name":"","user_id":"user-ü-😀-漢字","company_id":null,"source":"backend-http","inserted_at":"2024-07-28T08:55:35.874555Z","hostname":null,"pathname":null,"user_agent":null,"metadata":{}}\n' +
    '{"app_token":"NX-1a2b3c","event_type":"track","event_name":"Plan, \\"Pro\\"\\nrenewed","user_id":"=cmd|\' /C calc\'!A0","company_id":"c,1","source":"backend-http","inserted_at":"1970-01-01T00:00:00.000000Z","hostname":null,"pathname":null,"user_agent":null,"metadata":{"plan":{"name":"Pro \\"annual\\"","seats":3,"tags":["a,b","漢字",null],"active":true},"note":"line1\\r\\nline2","+SUM(A1)":"@x","😀":""}}\n')
  t.strictSame(await encodeEvents('ndjson', [{ ...sampleEvents[0]!, extra: 'dropped' } as ExportedEvent]), await encodeEvents('ndjson', [sampleEvents[0]!]), 'only the export\'s fields')
  t.equal((await encodeEvents('ndjson', [])).length, 0)
})

t.test('csv: RFC 4180 quoting, CRLF rows, cells as sent (no formula escaping), null an empty cell', async (t) => {
  const file = await encodeEvents('csv', sampleEvents.slice(1, 3))
  t.equal(file.toString('utf8'),
    'app_token,event_type,event_name,user_id,company_id,source,inserted_at,hostname,pathname,user_agent,metadata\r\n' +
    'NX-1a2b3c,track,"Plan, ""Pro""\nrenewed",=cmd|\' /C calc\'!A0,"c,1",backend-http,1970-01-01T00:00:00.000000Z,,,,' +
    '"{""plan"":{""name"":""Pro \\""annual\\"""",""seats"":3,""tags"":[""a,b"",""漢字"",null],""active"":true},""note"":""line1\\r\\nline2"",""+SUM(A1)"":""@x"",""😀"":""""}"\r\n' +
    'NX-1a2b3c,page_view,,u1,,web-client,1969-12-31T23:59:59.999001Z,app.example.com,"/billing?tab=plans&q=a,b","Mozilla/5.0 (X11; Linux x86_64) ""quoted""","{"" padded "":"" kept ""}"\r\n')
  t.equal((await encodeEvents('csv', [])).toString('utf8'), 'app_token,event_type,event_name,user_id,company_id,source,inserted_at,hostname,pathname,user_agent,metadata\r\n', 'no events: the header row alone')
})

t.test('avro and parquet files start (and parquet ends) with their magic bytes, events or none', async (t) => {
  for (const events of [sampleEvents, []]) {
    t.equal((await encodeEvents('avro', events)).subarray(0, 4).toString('latin1'), 'Obj\u0001')
    const parquetFile = await encodeEvents('parquet', events)
    t.strictSame([parquetFile.subarray(0, 4).toString('latin1'), parquetFile.subarray(-4).toString('latin1')], ['PAR1', 'PAR1'])
  }
})

t.test('avro: the type it writes with is a whole avsc type (own reads, copies, comparisons)', async (t) => {
  const [early, late] = [0, 4].map((index) => ({ ...sampleEvents[index]!, inserted_at: SAMPLES[index]!.micros, metadata: JSON.stringify(sampleEvents[index]!.metadata) }))
  // avsc gives records as instances of a class it generates: compare their fields.
  t.strictSame({ ...AVRO_TYPE.fromBuffer(AVRO_TYPE.toBuffer(late)) }, late, 'past 2^53 microseconds, exactly')
  t.strictSame({ ...AVRO_TYPE.clone(late) }, late, 'copies past 2^53 too')
  t.equal(AVRO_TYPE.compare(early, late), -1)
  t.equal(AVRO_TYPE.compare(late, early), 1)
  t.equal(AVRO_TYPE.compare(late, { ...late }), 0)
})

t.test('avro and parquet refuse an inserted_at they cannot turn into microseconds', async (t) => {
  const bad = { ...sampleEvents[0]!, inserted_at: '2024-07-28T08:55:35.874Z' }
  const message = 'inserted_at must be a UTC time with six fraction digits, as insertedAtText writes it; got "2024-07-28T08:55:35.874Z".'
  await t.rejects(encodeEvents('avro', [bad]), { message })
  await t.rejects(encodeEvents('parquet', [bad]), { message })
})
