import { StringDecoder } from 'node:string_decoder'
import type { Readable } from 'node:stream'
import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError, apiError, excerpt, labelFor } from '../errors.js'
import { MAX_ERRORS } from './validation.js'

/** Checks one parsed line; returns its problems (empty when the row is good). */
export type RowCheck = (value: unknown, line: number) => ErrorEntry[]

export interface NdjsonOptions {
  check: RowCheck
  maxRecords: number
  /** What the rows are, for messages: `users` or `companies`. */
  collection: string
  /** How many of the first bytes to keep (for the request journal). */
  keepBytes: number
  /** Sees each good row with its line number (the fidelity warnings). */
  inspect?: (value: unknown, line: number) => void
}

export interface NdjsonRows {
  rows: unknown[]
  /** The line number of each row. */
  lines: number[]
  /** Bytes of the file as received. */
  bytes: number
  /** The file's first `keepBytes` bytes. */
  head: Buffer
}

/**
 * Counts an upload's bytes as they stream past and keeps the first
 * `keepBytes` of them: the file's size and the journal's excerpt of it.
 */
export class ByteTally {
  bytes = 0
  readonly #head: Buffer[] = []
  readonly #keepBytes: number

  constructor (keepBytes: number) {
    this.#keepBytes = keepBytes
  }

  /** Counts one chunk. */
  seen (chunk: Buffer): void {
    if (this.bytes < this.#keepBytes) this.#head.push(chunk.subarray(0, this.#keepBytes - this.bytes))
    this.bytes += chunk.length
  }

  /** The first `keepBytes` bytes seen. */
  get head (): Buffer {
    return Buffer.concat(this.#head)
  }
}

/**
 * The lines of a byte stream, decoded as UTF-8 across chunk borders, each
 * without its `\n` (a CR before it is left to the caller). Read with the
 * stream's own async iterator, so a stream that has already failed rejects at
 * once instead of never ending; a line that spans many chunks is kept as
 * pieces, so a huge line costs linear time. `seen` sees each chunk as read.
 */
export async function * readLines (stream: AsyncIterable<Buffer>, seen?: (chunk: Buffer) => void): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8')
  let pieces: string[] = []
  for await (const chunk of stream) {
    seen?.(chunk)
    const parts = decoder.write(chunk).split('\n')
    const last = parts.pop() as string
    for (const part of parts) {
      pieces.push(part)
      yield pieces.join('')
      pieces = []
    }
    pieces.push(last)
  }
  pieces.push(decoder.end())
  const tail = pieces.join('')
  if (tail !== '') yield tail
}

/**
 * Reads an NDJSON upload line by line from its stream (never as one string),
 * skipping blank lines. Like a JSON body, too many rows is a 413 before any
 * row problem is a 400; problems carry their line numbers, at most 100.
 */
export async function readNdjson (stream: Readable, options: NdjsonOptions): Promise<NdjsonRows> {
  const tally = new ByteTally(options.keepBytes)
  const rows: unknown[] = []
  const rowLines: number[] = []
  const problems: ErrorEntry[] = []
  const report = (found: ErrorEntry[]): void => { problems.push(...found.slice(0, MAX_ERRORS - problems.length)) }
  let count = 0
  let line = 0
  for await (const raw of readLines(stream, (chunk) => { tally.seen(chunk) })) {
    line++
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (text.trim() === '') continue
    // Past the limit the rows are only counted, so that the 413 can say how many there were.
    if (++count > options.maxRecords) continue
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      report([{ error: labelFor(400), error_code: 'malformed_json', message: `Line ${line} is not valid JSON: ${excerpt(text, 40)}.`, details: `line ${line}` }])
      continue
    }
    const found = options.check(value, line)
    if (found.length > 0) {
      report(found)
      continue
    }
    rows.push(value)
    rowLines.push(line)
    options.inspect?.(value, line)
  }
  if (count > options.maxRecords) {
    throw apiError(413, 'too_many_records',
      `A bulk upload carries at most ${options.maxRecords} ${options.collection}; this file has ${count} lines with rows. Split it into several files.`,
      `${count} rows`)
  }
  if (count === 0) {
    throw apiError(400, 'empty_file', `The uploaded file has no rows: send one JSON object per line, one per ${options.collection === 'users' ? 'user' : 'company'}.`, 'file')
  }
  if (problems.length > 0) throw new ApiError(400, problems)
  return { rows, lines: rowLines, bytes: tally.bytes, head: tally.head }
}
