import { PassThrough } from 'node:stream'
import t from 'tap'
import type { ImportRow } from '../../src/imports/import-row.js'
import { readImportNdjson } from '../../src/imports/parse-ndjson.js'
import { invalid } from '../helpers/http.js'
import { chunked, lines, outcome, type Outcome, type ReadOptions } from './helpers.js'

const TIME = '2024-07-28T08:55:35.874Z'
const AT = Date.parse(TIME)

async function readNdjson (content: string | Buffer, options: ReadOptions & { size?: number } = {}): Promise<Outcome> {
  return await outcome(async (collector) => { await readImportNdjson(chunked(content, options.size), collector) }, options)
}

const row = (userId: string, more: Record<string, unknown> = {}): string => JSON.stringify({ event_type: 'identify_user', user_id: userId, source: 'backend-http', inserted_at: TIME, ...more })
const identify = (userId: string, more: Partial<ImportRow> = {}): ImportRow => ({ eventType: 'identify_user', eventName: '', userId, companyId: null, metadata: {}, source: 'backend-http', insertedAt: AT, ...more })
const malformedJson = (line: number, text: string) => invalid('malformed_json', `Line ${line} is not valid JSON: ${text}.`, `line ${line}`)

t.test('one JSON object per line, each with its line number; blank lines skipped', async (t) => {
  const file = `${row('u1', { metadata: { plan: 'pro' } })}\n\n   \n${row('u2')}\n`
  t.strictSame(await readNdjson(file), { rows: [identify('u1', { metadata: { plan: 'pro' } }), identify('u2')], lines: [1, 4] })
  t.strictSame(await readNdjson(file, { size: 1 }), { rows: [identify('u1', { metadata: { plan: 'pro' } }), identify('u2')], lines: [1, 4] }, 'byte by byte')
})

t.test('CRLF line ends, no final newline, a byte-order mark at the start', async (t) => {
  t.strictSame(await readNdjson(`\ufeff${row('u1')}\r\n\r\n${row('u2')}`), { rows: [identify('u1'), identify('u2')], lines: [1, 3] })
  t.strictSame(await readNdjson(`\n\ufeff${row('u1')}\n`), { status: 400, errors: [malformedJson(2, `"\ufeff${row('u1').slice(0, 39).replace(/"/g, '\\"')}…"`)] }, 'a mark later in the file is not skipped')
})

t.test('malformed lines and bad rows: every problem with its line, at most 100', async (t) => {
  t.strictSame(await readNdjson(lines(row('u1'), '{"event_type":', row(''), '[1]')), {
    status: 400,
    errors: [
      malformedJson(2, '"{\\"event_type\\":"'),
      invalid('empty_user_id', 'Line 3: user_id is empty: it must be a non-empty string.', 'line 3: /user_id'),
      invalid('invalid_row', 'Line 4 must be a JSON object with an event_type and the fields of its type, not an array.', 'line 4')
    ]
  })
  const many = await readNdjson(lines(...Array.from({ length: 150 }, () => 'nope'))) as { errors: unknown[] }
  t.equal(many.errors.length, 100)
  t.same(many.errors[99], malformedJson(100, '"nope"'))
})

t.test('past the row limit lines are only counted: 413 before any 400', async (t) => {
  t.strictSame(await readNdjson(lines(row('u1'), 'not json', row('u3'), ''), { maxRows: 3 }), { status: 400, errors: [malformedJson(2, '"not json"')] }, 'within the limit: the 400')
  t.strictSame(await readNdjson(lines(row('u1'), row('u2'), 'not json', row('')), { maxRows: 2 }), {
    status: 413,
    errors: [{ error: 'payload_too_large', error_code: 'too_many_rows', message: 'An import file carries at most 2 rows (MOCK_IMPORT_MAX_ROWS); this one has 4. Split it into several files.', details: '4 rows' }]
  })
})

t.test('an empty file', async (t) => {
  for (const file of ['', '\n\n', '\ufeff\r\n']) {
    t.strictSame(await readNdjson(file), {
      status: 400,
      errors: [invalid('empty_file', 'The uploaded file has no rows: send a CSV file with a header row and one row per line, or NDJSON with one JSON object per line.', 'file')]
    }, JSON.stringify(file))
  }
})

t.test('unknown fields are seen on good rows only', async (t) => {
  const unknown: Array<[string, number]> = []
  await readNdjson(lines(row('u1', { email: 'a@b' }), row('', { phone: '1' }), row('u3', { email: 'c@d' })), { unknown })
  t.same(unknown, [['email', 1], ['email', 3]])
})

t.test('a failing stream rejects with its error', async (t) => {
  const stream = new PassThrough()
  stream.write(`${row('u1')}\n`)
  setImmediate(() => stream.destroy(new Error('connection reset')))
  await t.rejects(outcome(async (collector) => { await readImportNdjson(stream, collector) }), { message: 'connection reset' })
})
