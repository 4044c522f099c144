import { PassThrough } from 'node:stream'
import t from 'tap'
import { CsvError } from 'csv-parse'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { ImportRow } from '../../src/imports/import-row.js'
import { MAX_CELL_CHARS, MAX_ROW_BYTES, readImportCsv, syntaxEntry } from '../../src/imports/parse-csv.js'
import { invalid } from '../helpers/http.js'
import { chunked, lines, outcome, type Outcome, type ReadOptions } from './helpers.js'

const TIME = '2024-07-28 08:55:35.874555'
const AT = Date.UTC(2024, 6, 28, 8, 55, 35, 874)
const HEADER = 'event_type,user_id,company_id,event_name,source,inserted_at'

/** Reads `content` as a CSV import, in chunks of `size` bytes. */
async function readCsv (content: string | Buffer, options: ReadOptions & { size?: number } = {}): Promise<Outcome> {
  return await outcome(async (collector) => { await readImportCsv(chunked(content, options.size), collector) }, options)
}

/** An identify_user event as a CSV row of the tests gives it. */
function identify (userId: string, more: Partial<ImportRow> = {}): ImportRow {
  return { eventType: 'identify_user', eventName: '', userId, companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT, micros: 555, ...more }
}

const bad = (status: number, ...errors: ReturnType<typeof invalid>[]): Outcome => ({ status, errors })
const malformed = (line: number, reason: string) => invalid('malformed_csv', `Line ${line} cannot be read as CSV: ${reason}.`, `line ${line}`)
const UNCLOSED = 'a quoted cell that starts in this row is never closed'

t.test('a header row, then one row per line, each type', async (t) => {
  const file = lines(
    HEADER,
    `identify_user,u1,c1,,backend-http,${TIME}`,
    `identify_company,,c1,,backend-hubspot,${TIME}`,
    `track,u1,,Clicked,backend-segment,${TIME}`
  )
  t.strictSame(await readCsv(file), {
    rows: [
      identify('u1', { companyId: 'c1' }),
      { eventType: 'identify_company', eventName: '', userId: null, companyId: 'c1', metadata: {}, source: 'backend-hubspot', insertedAt: AT, micros: 555 },
      { eventType: 'track', eventName: 'Clicked', userId: 'u1', companyId: null, metadata: {}, source: 'backend-segment', insertedAt: AT, micros: 555 }
    ],
    lines: [2, 3, 4]
  })
  t.strictSame(await readCsv(lines(
    'event_type,user_id,hostname,pathname,url,user_agent,source,inserted_at',
    'page_view,u2,app.example.com,/a,,UA,web-client,2024-07-28T08:55:35Z',
    'page_view,u2,,,https://b.example.com/b?x=1,UA,web-client,2024-07-28T08:55:35Z'
  )), {
    rows: [
      { eventType: 'page_view', eventName: '', userId: 'u2', companyId: null, metadata: {}, source: 'web-client', insertedAt: Date.UTC(2024, 6, 28, 8, 55, 35), hostname: 'app.example.com', pathname: '/a', userAgent: 'UA' },
      { eventType: 'page_view', eventName: '', userId: 'u2', companyId: null, metadata: {}, source: 'web-client', insertedAt: Date.UTC(2024, 6, 28, 8, 55, 35), hostname: 'b.example.com', pathname: '/b', userAgent: 'UA' }
    ],
    lines: [2, 3]
  }, 'page views, with and without a url')
})

t.test('an empty cell is an absent field; cells are text as sent, never trimmed', async (t) => {
  t.strictSame(await readCsv(lines(HEADER, `identify_user, u 1 ,,,backend-http,${TIME}`)), { rows: [identify(' u 1 ')], lines: [2] })
  t.strictSame(await readCsv(lines(HEADER, `identify_user,,,,backend-http,${TIME}`)), bad(400, invalid('missing_user_id', 'Line 2: user_id is required on an identify_user row.', 'line 2: /user_id')))
})

t.test('header names are trimmed; the header may follow blank lines', async (t) => {
  t.strictSame(await readCsv(`\n\n event_type , user_id,source ,inserted_at\nidentify_user,u1,backend-http,${TIME}\n`), { rows: [identify('u1')], lines: [4] })
})

t.test('metadata as metadata.<key> columns: text as sent, an empty cell leaves the key out', async (t) => {
  const file = lines(
    'event_type,user_id,source,inserted_at,metadata.plan,metadata.seats,metadata.a.b',
    `identify_user,u1,backend-http,${TIME},pro,3,x`,
    `identify_user,u2,backend-http,${TIME},,0,`,
    `identify_user,u3,backend-http,${TIME},,,`
  )
  t.strictSame(await readCsv(file), {
    rows: [identify('u1', { metadata: { plan: 'pro', seats: '3', 'a.b': 'x' } }), identify('u2', { metadata: { seats: '0' } }), identify('u3')],
    lines: [2, 3, 4]
  })
  t.strictSame(await readCsv(lines('event_type,user_id,source,inserted_at,metadata.n', `identify_user,u1,backend-http,${TIME},12`), { mode: 'strings' }),
    { rows: [identify('u1', { metadata: { n: '12' } })], lines: [2] }, 'text passes MOCK_METADATA=strings')
})

t.test('metadata as one column holding a JSON object', async (t) => {
  const file = lines(
    'event_type,user_id,source,inserted_at,metadata',
    `identify_user,u1,backend-http,${TIME},"{""plan"":""pro"",""seats"":3,""gone"":null}"`,
    `identify_user,u2,backend-http,${TIME},`
  )
  t.strictSame(await readCsv(file), { rows: [identify('u1', { metadata: { plan: 'pro', seats: 3, gone: null } }), identify('u2')], lines: [2, 3] })
  t.strictSame(await readCsv(lines(
    'event_type,user_id,source,inserted_at,metadata',
    `identify_user,u1,backend-http,${TIME},{plan:pro}`,
    `identify_user,,backend-http,${TIME},not json`,
    `identify_user,u3,backend-http,${TIME},[1]`,
    `identify_user,u4,backend-http,${TIME},"{""list"":[1]}"`
  )), bad(400,
    invalid('invalid_metadata', 'Line 2: the metadata cell is not JSON: it must hold a JSON object such as {"plan":"pro"}; got "{plan:pro}".', 'line 2: /metadata'),
    invalid('missing_user_id', 'Line 3: user_id is required on an identify_user row.', 'line 3: /user_id'),
    invalid('invalid_metadata', 'Line 3: the metadata cell is not JSON: it must hold a JSON object such as {"plan":"pro"}; got "not json".', 'line 3: /metadata'),
    invalid('invalid_metadata', 'Line 4: metadata must be an object of properties.', 'line 4: /metadata'),
    invalid('invalid_metadata_value', 'Line 5: metadata["list"] is not accepted. Expected: A string, number, boolean, or null to remove the property. Arrays and objects are rejected.', 'line 5: /metadata/list')
  ))
})

t.test('header problems: all of them at once, before any row', async (t) => {
  t.strictSame(await readCsv(lines('event_type,user_id,metadata,metadata.plan,user_id,,metadata.', 'identify_user,u1,{},pro,u1,,')), bad(400,
    invalid('duplicate_column', 'Line 1: the header row names the column "user_id" twice.', 'line 1: /user_id'),
    invalid('empty_column', 'Line 1: column 6 of the header row has no name: each column names a field.', 'line 1: column 6'),
    invalid('invalid_metadata_key', 'Line 1: the column "metadata." names a metadata key that is empty or longer than 255 characters.', 'line 1: /metadata/'),
    invalid('mixed_metadata_columns', 'Line 1: the header row has both a metadata column (a JSON object) and metadata.<key> columns such as "metadata.plan": use one of the two forms in a file.', 'line 1: metadata, metadata.plan'),
    invalid('missing_column', 'Line 1: the header row has no source column: every row needs one.', 'line 1: /source'),
    invalid('missing_column', 'Line 1: the header row has no inserted_at column: every row needs one.', 'line 1: /inserted_at')
  ))
  const long = `metadata.${'k'.repeat(256)}`
  t.strictSame(await readCsv(lines(`event_type,source,inserted_at,${long}`)), bad(400,
    invalid('invalid_metadata_key', `Line 1: the column "metadata.${'k'.repeat(31)}…" names a metadata key that is empty or longer than 255 characters.`, `line 1: /metadata/${'k'.repeat(64)}…`)
  ))
  const many = Array.from({ length: MAX_METADATA_KEYS + 1 }, (_, i) => `metadata.k${i}`).join(',')
  t.strictSame(await readCsv(lines(`event_type,source,inserted_at,${many}`)), bad(400,
    invalid('too_many_metadata_keys', `Line 1: the header row has ${MAX_METADATA_KEYS + 1} metadata.<key> columns; a row carries at most ${MAX_METADATA_KEYS} properties.`, 'line 1: /metadata')
  ))
  t.strictSame(await readCsv('\n\nuser_id\n'), bad(400,
    invalid('missing_column', 'Line 3: the header row has no event_type column: every row needs one.', 'line 3: /event_type'),
    invalid('missing_column', 'Line 3: the header row has no source column: every row needs one.', 'line 3: /source'),
    invalid('missing_column', 'Line 3: the header row has no inserted_at column: every row needs one.', 'line 3: /inserted_at')
  ), 'the header\'s own line number')
})

t.test('a byte-order mark, CRLF line ends, blank lines: read as such, line numbers kept', async (t) => {
  const file = `\ufeff${HEADER}\r\n\r\nidentify_user,u1,,,backend-http,${TIME}\r\n   \r\n,,,,,\r\nidentify_user,u2,,,backend-http,${TIME}`
  t.strictSame(await readCsv(file), { rows: [identify('u1'), identify('u2')], lines: [3, 6] })
  t.strictSame(await readCsv(file, { size: 1 }), { rows: [identify('u1'), identify('u2')], lines: [3, 6] }, 'the same byte by byte')
  const mixed = `${HEADER}\nidentify_user,u1,,,backend-http,${TIME}\r\n\nidentify_user,u2,,,backend-http,${TIME}\r\n`
  t.strictSame(await readCsv(mixed), { rows: [identify('u1'), identify('u2')], lines: [2, 4] }, 'LF and CRLF in one file')
})

t.test('quoted cells: commas, doubled quotes, line breaks; later line numbers stay physical', async (t) => {
  const file = [
    'event_type,user_id,source,inserted_at,metadata.note',
    `identify_user,u1,backend-http,${TIME},"a, ""quoted"" note"`,
    `identify_user,u2,backend-http,${TIME},"two\r\nlines"`,
    `identify_user,u3,backend-http,${TIME},"three`,
    '',
    'lines"',
    `identify_user,,backend-http,${TIME},x`
  ].join('\r\n')
  t.strictSame(await readCsv(file), bad(400, invalid('missing_user_id', 'Line 8: user_id is required on an identify_user row.', 'line 8: /user_id')))
  const good = file.replace('identify_user,,', 'identify_user,u4,')
  const expected = {
    rows: [
      identify('u1', { metadata: { note: 'a, "quoted" note' } }),
      identify('u2', { metadata: { note: 'two\r\nlines' } }),
      identify('u3', { metadata: { note: 'three\r\n\r\nlines' } }),
      identify('u4', { metadata: { note: 'x' } })
    ],
    lines: [2, 3, 5, 8]
  }
  t.strictSame(await readCsv(good), expected)
  t.strictSame(await readCsv(good, { size: 3 }), expected, 'in chunks of 3 bytes')
})

t.test('a row with more or fewer cells than the header: its line, and the other rows are still checked', async (t) => {
  t.strictSame(await readCsv(lines(
    HEADER,
    `identify_user,u1,,,backend-http,${TIME},extra`,
    `identify_user,u2,backend-http,${TIME}`,
    `identify_user,,,,backend-http,${TIME}`
  )), bad(400,
    invalid('wrong_cell_count', 'Line 2 has 7 cells, the header row 6: quote a cell that holds a comma, a quote or a line break ("a, b").', 'line 2'),
    invalid('wrong_cell_count', 'Line 3 has 4 cells, the header row 6: quote a cell that holds a comma, a quote or a line break ("a, b").', 'line 3'),
    invalid('missing_user_id', 'Line 4: user_id is required on an identify_user row.', 'line 4: /user_id')
  ))
})

t.test('broken quoting: a 400 at the line where the broken row starts, after the problems found before it', async (t) => {
  t.strictSame(await readCsv(lines(HEADER, `identify_user,,,,backend-http,${TIME}`, '', '', `identify_user,"u2,,,backend-http,${TIME}`, 'more')), bad(400,
    invalid('missing_user_id', 'Line 2: user_id is required on an identify_user row.', 'line 2: /user_id'),
    malformed(5, UNCLOSED)
  ))
  t.strictSame(await readCsv(lines(HEADER, `identify_user,"u1"x,,,backend-http,${TIME}`)),
    bad(400, malformed(2, 'a quoted cell is followed by more text: a quote inside a quoted cell is written twice ("")')))
  t.strictSame(await readCsv(lines(HEADER, `identify_user,u"1,,,backend-http,${TIME}`)),
    bad(400, malformed(2, 'a quote appears inside a cell that does not start with one: quote the whole cell and write the quote twice ("")')))
  t.strictSame(await readCsv(lines(HEADER, `identify_user, "u1",,,backend-http,${TIME}`)),
    bad(400, malformed(2, 'a quote appears inside a cell that does not start with one: quote the whole cell and write the quote twice ("")')), 'a space before the opening quote')
  t.strictSame(await readCsv(`"event_type,user_id\n${'x,y\n'.repeat(3)}`), bad(400, malformed(1, UNCLOSED)), 'in the header')
  t.strictSame(await readCsv(`${HEADER}\nidentify_user,"x\r\ny",,,backend-http,${TIME}\r\n\r\n"open`), bad(400, malformed(5, UNCLOSED)), 'a CRLF inside a quoted cell counts once')
})

t.test('huge cells and rows are bounded', async (t) => {
  const big = 'x'.repeat(MAX_CELL_CHARS + 1)
  t.strictSame(await readCsv(lines('event_type,user_id,source,inserted_at,metadata.note', `identify_user,u1,backend-http,${TIME},${big}`, `identify_user,u2,backend-http,${TIME},${'y'.repeat(MAX_CELL_CHARS)}`)), bad(400,
    invalid('cell_too_large', `Line 2: the cell of the column "metadata.note" is longer than ${MAX_CELL_CHARS} characters.`, 'line 2: /metadata.note')
  ), 'a cell of 64 Ki characters passes, one more does not')
  t.strictSame(await readCsv(lines(HEADER, `identify_user,${big},,,backend-http,${big}`)), bad(400,
    invalid('cell_too_large', `Line 2: the cell of the column "user_id" is longer than ${MAX_CELL_CHARS} characters.`, 'line 2: /user_id'),
    invalid('cell_too_large', `Line 2: the cell of the column "inserted_at" is longer than ${MAX_CELL_CHARS} characters.`, 'line 2: /inserted_at')
  ), 'each oversized cell named; the row is not checked further')
  t.strictSame(await readCsv(lines(HEADER, `identify_user,${'u'.repeat(MAX_ROW_BYTES + 1)},,,backend-http,${TIME}`, 'never read')),
    bad(400, invalid('row_too_large', `Line 2 cannot be read as CSV: the row is longer than ${MAX_ROW_BYTES} bytes (often a quote left open).`, 'line 2')))
  const runaway = `${HEADER}\nidentify_user,"u1,,,backend-http,${TIME}\n${'z\n'.repeat(600_000)}`
  t.strictSame(await readCsv(runaway, { size: 65_536 }),
    bad(400, invalid('row_too_large', `Line 2 cannot be read as CSV: the row is longer than ${MAX_ROW_BYTES} bytes (often a quote left open).`, 'line 2')), 'a quote left open stops at the bound, streaming')
})

t.test('no rows: an empty file, blank lines only, a header only', async (t) => {
  const empty = bad(400, invalid('empty_file', 'The uploaded file has no rows: send a CSV file with a header row and one row per line, or NDJSON with one JSON object per line.', 'file'))
  for (const file of ['', '\ufeff', '\n\r\n  \n', lines(HEADER), `${HEADER}\n,,,,,\n\n`]) {
    t.strictSame(await readCsv(file), empty, JSON.stringify(file))
  }
})

t.test('more rows than allowed: 413 with their count, whatever they hold', async (t) => {
  t.strictSame(await readCsv(lines(HEADER, `identify_user,u1,,,backend-http,${TIME}`, `identify_user,u2,,,backend-http,${TIME}`, 'bad,row', `identify_user,,,,x,${TIME}`), { maxRows: 2 }), {
    status: 413,
    errors: [{ error: 'payload_too_large', error_code: 'too_many_rows', message: 'An import file carries at most 2 rows (MOCK_IMPORT_MAX_ROWS); this one has 4. Split it into several files.', details: '4 rows' }]
  })
})

t.test('at most 100 problems; a broken row after them is still named', async (t) => {
  const rows = Array.from({ length: 150 }, () => `identify_user,,,,backend-http,${TIME}`)
  const many = await readCsv(lines(HEADER, ...rows)) as { errors: unknown[] }
  t.equal(many.errors.length, 100)
  t.same(many.errors[99], invalid('missing_user_id', 'Line 101: user_id is required on an identify_user row.', 'line 101: /user_id'))
  const broken = await readCsv(lines(HEADER, ...rows, '"open')) as { errors: unknown[] }
  t.equal(broken.errors.length, 100)
  t.same(broken.errors[98], invalid('missing_user_id', 'Line 100: user_id is required on an identify_user row.', 'line 100: /user_id'))
  t.same(broken.errors[99], malformed(152, UNCLOSED))
})

t.test('CSV-injection-like cells and a column named __proto__ are plain text', async (t) => {
  const unknown: Array<[string, number]> = []
  const cells = ['=cmd|\' /C calc\'!A0', '+1+1', '-2', '@SUM(A1)', '\t=1', '=HYPERLINK("http://evil")']
  const file = lines(
    'event_type,user_id,source,inserted_at,metadata.formula,__proto__,constructor',
    ...cells.map((cell, i) => `identify_user,${i === 0 ? '=u1' : `u${i}`},backend-http,${TIME},"${cell.replace(/"/g, '""')}","{""polluted"":true}",x`)
  )
  const result = await readCsv(file, { unknown }) as { rows: ImportRow[] }
  t.same(result.rows.map((row) => [row.userId, row.metadata.formula]), cells.map((cell, i) => [i === 0 ? '=u1' : `u${i}`, cell]))
  t.same(unknown, cells.flatMap((_, i) => [['__proto__', i + 2], ['constructor', i + 2]]), 'unknown columns reported on each good row (the caller keeps one per name)')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'nothing polluted')
})

t.test('a failing stream: its error, not a CSV one', async (t) => {
  const stream = new PassThrough()
  stream.write(`${HEADER}\n`)
  setImmediate(() => stream.destroy(new Error('connection reset')))
  await t.rejects(outcome(async (collector) => { await readImportCsv(stream, collector) }), { message: 'connection reset' })
})

t.test('a csv-parse error this reader does not expect is still a 400 naming the line', async (t) => {
  t.same(syntaxEntry(new CsvError('CSV_UNKNOWN_ERROR', 'odd'), 4), malformed(4, 'the row is not valid CSV'))
})
