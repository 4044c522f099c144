import { PassThrough, Readable } from 'node:stream'
import t, { type Test } from 'tap'
import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError } from '../../src/errors.js'
import { readNdjson, type NdjsonOptions, type NdjsonRows, type RowCheck } from '../../src/http/ndjson.js'
import { MAX_ERRORS } from '../../src/http/validation.js'
import { invalid } from '../helpers/http.js'

/** A check that accepts objects with a string `id` and records every call. */
function spyCheck (): { check: RowCheck, calls: Array<[unknown, number]> } {
  const calls: Array<[unknown, number]> = []
  const check: RowCheck = (value, line) => {
    calls.push([value, line])
    const id = (value as { id?: unknown } | null)?.id
    return typeof id === 'string' ? [] : [invalid('bad_row', `Line ${line} has no id.`, `line ${line}`)]
  }
  return { check, calls }
}

function options (check: RowCheck, maxRecords = 10, collection = 'users', keepBytes = 0): NdjsonOptions {
  return { check, maxRecords, collection, keepBytes }
}

/** A stream of byte chunks, as an upload arrives. */
function chunks (...parts: Array<string | Buffer>): Readable {
  return Readable.from(parts.map((part) => typeof part === 'string' ? Buffer.from(part) : part))
}

/** The ApiError `promise` rejects with; fails the test when it resolves. */
async function rejection (t: Test, promise: Promise<NdjsonRows>): Promise<ApiError> {
  try {
    const result = await promise
    t.fail(`resolved with ${JSON.stringify(result)}`)
  } catch (error) {
    t.type(error, ApiError)
    return error as ApiError
  }
  return new ApiError(500, [invalid('none', 'none', 'none')])
}

function tooMany (max: number, count: number, collection = 'users'): ErrorEntry {
  return {
    error: 'payload_too_large',
    error_code: 'too_many_records',
    message: `A bulk upload carries at most ${max} ${collection}; this file has ${count} lines with rows. Split it into several files.`,
    details: `${count} rows`
  }
}

const malformed = (line: number, text: string) => invalid('malformed_json', `Line ${line} is not valid JSON: ${text}.`, `line ${line}`)

t.test('one row per line, each checked with its line number; bytes counted', async (t) => {
  const { check, calls } = spyCheck()
  const text = '{"id":"a"}\n{"id":"b","n":1}\n'
  const result = await readNdjson(chunks(text), options(check))
  t.same(result, { rows: [{ id: 'a' }, { id: 'b', n: 1 }], lines: [1, 2], bytes: Buffer.byteLength(text), head: Buffer.alloc(0) })
  t.same(calls, [[{ id: 'a' }, 1], [{ id: 'b', n: 1 }, 2]])
})

t.test('CRLF line ends, also when CR and LF arrive in different chunks', async (t) => {
  const { check, calls } = spyCheck()
  const result = await readNdjson(chunks('{"id":"a"}\r\n{"id":"b"}\r', '\n{"id":"c"}\r\n'), options(check))
  t.same(result.rows, [{ id: 'a' }, { id: 'b' }, { id: 'c' }])
  t.same(calls.map(([, line]) => line), [1, 2, 3], 'a CRLF split across chunks is one line end')
  t.equal(result.bytes, 36)
  const error = await rejection(t, readNdjson(chunks('{"id":"a"}\r', '\n\r\n{bad\r\n'), options(check)))
  t.same(error.entries, [malformed(3, '"{bad"')], 'no stray CR in the excerpt, the blank CRLF line counted')
})

t.test('a final line without a newline is read', async (t) => {
  const { check } = spyCheck()
  const result = await readNdjson(chunks('{"id":"a"}\n{"id":"b"}'), options(check))
  t.same(result, { rows: [{ id: 'a' }, { id: 'b' }], lines: [1, 2], bytes: 21, head: Buffer.alloc(0) })
  t.same(await readNdjson(chunks('{"id":"only"}'), options(check)), { rows: [{ id: 'only' }], lines: [1], bytes: 13, head: Buffer.alloc(0) })
})

t.test('multi-byte UTF-8 split across chunks: decoded whole, bytes counted right', async (t) => {
  const { check } = spyCheck()
  const text = '{"id":"😀é日本"}\n{"id":"Zürich"}\n'
  const bytes = Buffer.from(text)
  t.equal(bytes.length, 39, 'precondition: 39 bytes for 31 UTF-16 units')
  t.equal(text.length, 31)
  const emoji = bytes.indexOf(Buffer.from('😀'))
  const parts = [bytes.subarray(0, emoji + 1), bytes.subarray(emoji + 1, emoji + 3), bytes.subarray(emoji + 3, emoji + 7), bytes.subarray(emoji + 7)]
  const result = await readNdjson(Readable.from(parts), options(check))
  t.same(result, { rows: [{ id: '😀é日本' }, { id: 'Zürich' }], lines: [1, 2], bytes: 39, head: Buffer.alloc(0) })

  const oneByteAtATime = Array.from(bytes, (byte) => Buffer.from([byte]))
  t.same(await readNdjson(Readable.from(oneByteAtATime), options(check)), { rows: [{ id: '😀é日本' }, { id: 'Zürich' }], lines: [1, 2], bytes: 39, head: Buffer.alloc(0) })
})

t.test('blank lines are skipped, not counted, not checked, but numbered', async (t) => {
  const { check, calls } = spyCheck()
  const text = '\n   \n{"id":"a"}\n\t\n\r\n{"id":"b"}\n\n'
  const result = await readNdjson(chunks(text), options(check, 2))
  t.same(result, { rows: [{ id: 'a' }, { id: 'b' }], lines: [3, 6], bytes: Buffer.byteLength(text), head: Buffer.alloc(0) })
  t.same(calls.map(([, line]) => line), [3, 6])
})

t.test('row problems: every one with its line, after the whole file is read', async (t) => {
  const { check, calls } = spyCheck()
  const text = '{"id":"a"}\n{"id":1}\n\nnot json\nnull\n{"id":"e"}\n[1,\n'
  const error = await rejection(t, readNdjson(chunks(text), options(check)))
  t.equal(error.statusCode, 400)
  t.same(error.entries, [
    invalid('bad_row', 'Line 2 has no id.', 'line 2'),
    malformed(4, '"not json"'),
    invalid('bad_row', 'Line 5 has no id.', 'line 5'),
    malformed(7, '"[1,"')
  ])
  t.same(calls.map(([, line]) => line), [1, 2, 5, 6], 'malformed lines are not checked')
})

t.test('a long malformed line is quoted in 40 characters', async (t) => {
  const { check } = spyCheck()
  const line = '{"id":"' + 'x'.repeat(100)
  const error = await rejection(t, readNdjson(chunks(line + '\n'), options(check)))
  t.same(error.entries, [malformed(1, `"{\\"id\\":\\"${'x'.repeat(33)}…"`)])
})

t.test('at most MAX_ERRORS entries, the first ones, also when a line has several', async (t) => {
  t.equal(MAX_ERRORS, 100)
  const threeEach: RowCheck = (_value, line) => ['a', 'b', 'c'].map((code) => invalid(code, `Line ${line}`, `line ${line}`))
  const error = await rejection(t, readNdjson(chunks('{}\n'.repeat(50)), options(threeEach, 1000)))
  t.equal(error.entries.length, 100)
  t.same(error.entries.at(0), invalid('a', 'Line 1', 'line 1'))
  t.same(error.entries.at(-1), invalid('a', 'Line 34', 'line 34'), '33 lines of three, then the first of line 34')
})

t.test('more rows than maxRecords: 413 counting every line with a row, even bad ones, without checking past the limit', async (t) => {
  const { check, calls } = spyCheck()
  const text = '{"id":"a"}\n{"id":1}\n\n{"id":"c"}\nbroken\n{"id":"e"}\n'
  const error = await rejection(t, readNdjson(chunks(text), options(check, 3, 'companies')))
  t.equal(error.statusCode, 413)
  t.same(error.entries, [tooMany(3, 5, 'companies')])
  t.same(calls.map(([, line]) => line), [1, 2, 4], 'only the first 3 rows were checked')
})

t.test('exactly maxRecords rows pass', async (t) => {
  const { check } = spyCheck()
  const result = await readNdjson(chunks('{"id":"a"}\n\n{"id":"b"}\n{"id":"c"}\n\n'), options(check, 3))
  t.equal(result.rows.length, 3)
})

t.test('no rows: 400 empty_file, in the words of the collection', async (t) => {
  const { check, calls } = spyCheck()
  for (const [text, collection, noun] of [['', 'users', 'user'], ['\n \r\n\t\n', 'users', 'user'], ['\n', 'companies', 'company']]) {
    const error = await rejection(t, readNdjson(chunks(text as string), options(check, 10, collection)))
    t.equal(error.statusCode, 400)
    t.same(error.entries, [invalid('empty_file', `The uploaded file has no rows: send one JSON object per line, one per ${noun as string}.`, 'file')])
  }
  t.same(await rejection(t, readNdjson(Readable.from([]), options(check))).then((error) => error.entries[0]?.error_code), 'empty_file', 'a stream without any chunk')
  t.same(calls, [])
})

t.test('an error of the stream while reading rejects with it', async (t) => {
  const { check } = spyCheck()
  const stream = new PassThrough()
  const reading = readNdjson(stream, options(check))
  stream.write('{"id":"a"}\n')
  setImmediate(() => stream.destroy(new Error('connection reset')))
  await t.rejects(reading, { message: 'connection reset' })
})

t.test('a stream that has already failed before reading starts', async (t) => {
  const { check } = spyCheck()
  const stream = new PassThrough()
  stream.on('error', () => {})
  stream.destroy(new Error('part terminated early'))
  await new Promise((resolve) => setImmediate(resolve))
  let outcome = 'pending'
  readNdjson(stream, options(check)).then(() => { outcome = 'resolved' }, (error: Error) => { outcome = `rejected: ${error.message}` })
  for (let turn = 0; turn < 100; turn++) await new Promise((resolve) => setImmediate(resolve))
  t.equal(outcome, 'rejected: part terminated early', 'rejects instead of waiting forever')
})

t.test('keeps the first keepBytes bytes of the file, across chunks', async (t) => {
  const { check } = spyCheck()
  const read = await readNdjson(chunks('{"id":"a"}\n{"i', 'd":"b"}\n{"id":"c"}\n'), options(check, 10, 'users', 15))
  t.equal(read.head.toString(), '{"id":"a"}\n{"id', 'the head stops at 15 bytes, inside the second chunk')
  t.equal(read.bytes, 33)
  const none = await readNdjson(chunks('{"id":"a"}\n'), options(check))
  t.equal(none.head.length, 0)
})
