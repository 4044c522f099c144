import { Readable } from 'node:stream'
import t from 'tap'
import { ApiError } from '../../src/errors.js'
import { MAX_ERRORS } from '../../src/http/validation.js'
import { RowCollector } from '../../src/imports/collector.js'
import { declaredFormat, readImport, SNIFF_BYTES, type ImportFile } from '../../src/imports/read-import.js'
import { invalid } from '../helpers/http.js'
import { chunked, collectorFor } from './helpers.js'

const TIME = '2024-07-28T08:55:35.874Z'
const CSV = `event_type,user_id,source,inserted_at\nidentify_user,u1,backend-http,${TIME}\n`
const NDJSON = `{"event_type":"identify_user","user_id":"u1","source":"backend-http","inserted_at":"${TIME}"}\n`
const ROW = { eventType: 'identify_user', eventName: '', userId: 'u1', companyId: null, metadata: {}, source: 'backend-http', insertedAt: Date.parse(TIME) }

async function read (stream: AsyncIterable<Buffer>, filename = '', contentType = 'application/octet-stream', keepBytes = 0): Promise<ImportFile> {
  return await readImport(stream, { filename, contentType, keepBytes }, collectorFor())
}

/** The error codes a read fails with. */
async function codes (stream: AsyncIterable<Buffer>, filename = '', contentType = ''): Promise<string[]> {
  try {
    await read(stream, filename, contentType)
  } catch (error) {
    return (error as ApiError).entries.map((entry) => entry.error_code)
  }
  return []
}

t.test('declaredFormat: the extension first, then the content type, else undefined', async (t) => {
  const cases: Array<[string, string, 'csv' | 'ndjson' | undefined]> = [
    ['rows.csv', 'application/x-ndjson', 'csv'],
    ['ROWS.CSV', '', 'csv'],
    ['rows.ndjson', 'text/csv', 'ndjson'],
    ['rows.jsonl', '', 'ndjson'],
    ['rows.json', '', 'ndjson'],
    ['C:\\exports\\rows.csv', '', 'csv'],
    ['rows.txt', 'text/csv; charset=utf-8', 'csv'],
    ['rows', ' Application/CSV ', 'csv'],
    ['', 'text/comma-separated-values', 'csv'],
    ['rows.dat', 'application/vnd.ms-excel', 'csv'],
    ['rows', 'application/x-ndjson', 'ndjson'],
    ['rows', 'application/ndjson', 'ndjson'],
    ['rows', 'application/jsonl', 'ndjson'],
    ['rows', 'application/x-jsonlines', 'ndjson'],
    ['rows', 'application/json', 'ndjson'],
    ['rows.txt', 'text/plain', undefined],
    ['rows.csv.gz', 'application/gzip', undefined],
    ['csv', '', undefined],
    ['.csv', '', 'csv'],
    ['rows.', '', undefined],
    ['rows.__proto__', 'constructor', undefined],
    ['', '', undefined]
  ]
  for (const [filename, contentType, format] of cases) t.equal(declaredFormat(filename, contentType), format, `${filename} / ${contentType}`)
})

t.test('the declared format wins over the content', async (t) => {
  t.same(await codes(chunked(NDJSON), 'rows.csv'), ['malformed_csv'], 'NDJSON text read as CSV')
  t.same(await codes(chunked(CSV), 'rows.ndjson'), ['malformed_json', 'malformed_json'], 'CSV text read as NDJSON')
})

t.test('undeclared: the first character that is not white space decides, `{` NDJSON', async (t) => {
  t.match(await read(chunked(NDJSON)), { format: 'ndjson', rows: [ROW], lines: [1] })
  t.match(await read(chunked(`\ufeff\r\n \t\n${NDJSON}`, 1)), { format: 'ndjson', rows: [ROW], lines: [3] }, 'a byte-order mark and blank lines first, byte by byte')
  t.match(await read(chunked(CSV, 2)), { format: 'csv', rows: [ROW], lines: [2] })
  t.match(await read(chunked(`\n\n${CSV}`)), { format: 'csv', rows: [ROW], lines: [4] })
  t.same(await codes(chunked('')), ['empty_file'], 'an empty file')
  t.same(await codes(chunked(' \n'.repeat(SNIFF_BYTES))), ['empty_file'], 'white space only, longer than what is looked at')
  t.same(await codes(chunked(`${' \n'.repeat(SNIFF_BYTES / 2)}${NDJSON}`, 1024)), ['malformed_csv'], 'a first character past the bytes looked at: CSV')
})

t.test('bytes and the first bytes are counted over the whole file, whether sniffed or not', async (t) => {
  const file = `${NDJSON}${NDJSON.replace('u1', 'u2')}`
  for (const filename of ['rows.ndjson', 'rows']) {
    const result = await read(chunked(file, 7), filename, '', 10)
    t.equal(result.bytes, Buffer.byteLength(file), `${filename}: bytes`)
    t.same(result.head, Buffer.from(file.slice(0, 10)), `${filename}: head`)
    t.equal(result.rows.length, 2)
  }
})

t.test('a reader that stops early ends the upload stream', async (t) => {
  const stream = Readable.from([Buffer.from('no_such_column\n'), Buffer.from(CSV.repeat(100))])
  t.same(await codes(stream), ['missing_column', 'missing_column', 'missing_column'])
  t.equal(stream.destroyed, true, 'the stream was ended')
})

t.test('a source without a return method (a plain async iterable) is read too', async (t) => {
  const chunks = [Buffer.from(CSV)]
  const iterable: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => {
      let index = 0
      return { next: async () => index < chunks.length ? { done: false, value: chunks[index++] as Buffer } : { done: true, value: undefined } }
    }
  }
  t.match(await read(iterable), { format: 'csv', rows: [ROW] })
})

t.test('RowCollector.abort: the problems before it, at most 99, then it', async (t) => {
  const collector = new RowCollector(() => ({ problems: [invalid('bad', 'Bad.', 'line 1')] }), 1000)
  for (let i = 0; i < 150; i++) if (collector.take()) collector.check({}, i)
  const error = collector.abort(invalid('malformed_csv', 'Broken.', 'line 151'))
  t.equal(error.statusCode, 400)
  t.equal(error.entries.length, MAX_ERRORS)
  t.same(error.entries.at(-1), invalid('malformed_csv', 'Broken.', 'line 151'))
  t.same(error.entries[0], invalid('bad', 'Bad.', 'line 1'))
})
