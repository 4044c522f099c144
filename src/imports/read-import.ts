import { StringDecoder } from 'node:string_decoder'
import { ByteTally } from '../http/ndjson.js'
import type { ImportRows, RowCollector } from './collector.js'
import { readImportNdjson } from './parse-ndjson.js'

/** The two formats an import file may have. */
export type ImportFormat = 'csv' | 'ndjson'

const EXTENSIONS: ReadonlyMap<string, ImportFormat> = new Map([['csv', 'csv'], ['ndjson', 'ndjson'], ['jsonl', 'ndjson'], ['json', 'ndjson']])

const MEDIA_TYPES: ReadonlyMap<string, ImportFormat> = new Map([
  ['text/csv', 'csv'],
  ['application/csv', 'csv'],
  ['text/comma-separated-values', 'csv'],
  // What browsers on Windows send for a .csv file when Excel is installed.
  ['application/vnd.ms-excel', 'csv'],
  ['application/x-ndjson', 'ndjson'],
  ['application/ndjson', 'ndjson'],
  ['application/jsonl', 'ndjson'],
  ['application/x-jsonlines', 'ndjson'],
  ['application/json', 'ndjson']
])

/** Most bytes looked at to tell the format from the content: a file that is only white space that long is read as CSV (and has no rows). */
export const SNIFF_BYTES = 65_536

/**
 * The format a file names: by its extension (.csv; .ndjson, .jsonl, .json),
 * else by the part's content type; undefined when neither says (then the
 * content decides).
 */
export function declaredFormat (filename: string, contentType: string): ImportFormat | undefined {
  const extension = /\.([^./\\]+)$/.exec(filename)?.[1]?.toLowerCase()
  const byName = extension === undefined ? undefined : EXTENSIONS.get(extension)
  return byName ?? MEDIA_TYPES.get((contentType.split(';')[0] as string).trim().toLowerCase())
}

/** Reads the first chunks until a character other than white space or a byte-order mark shows the format: `{` is NDJSON, anything else CSV. */
async function sniff (iterator: AsyncIterator<Buffer>, peeked: Buffer[], tally: ByteTally): Promise<ImportFormat> {
  // The decoder holds back a character cut between chunks (a byte-order mark sent byte by byte).
  const decoder = new StringDecoder('utf8')
  while (tally.bytes < SNIFF_BYTES) {
    const next = await iterator.next()
    if (next.done === true) break
    tally.seen(next.value)
    peeked.push(next.value)
    // \s includes the byte-order mark.
    const first = /\S/.exec(decoder.write(next.value))
    if (first !== null) return first[0] === '{' ? 'ndjson' : 'csv'
  }
  return 'csv'
}

/** The peeked chunks again, then the rest of the stream, each counted as it is read; ending early ends the stream. */
async function * replay (peeked: Buffer[], iterator: AsyncIterator<Buffer>, tally: ByteTally): AsyncGenerator<Buffer> {
  try {
    yield * peeked
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      tally.seen(next.value)
      yield next.value
    }
  } finally {
    await iterator.return?.()
  }
}

export interface ImportUpload {
  /** The file's name and the content type of its part, as sent. */
  filename: string
  contentType: string
  /** How many of the first bytes to keep (for the request journal). */
  keepBytes: number
}

export interface ImportFile extends ImportRows {
  format: ImportFormat
  /** Bytes of the file as received. */
  bytes: number
  /** The file's first `keepBytes` bytes. */
  head: Buffer
}

/**
 * Reads an uploaded import file from its stream, as CSV or NDJSON (see
 * {@link declaredFormat}; else its first character decides), into checked
 * rows. Throws the 413 or 400 the file deserves.
 */
export async function readImport (stream: AsyncIterable<Buffer>, upload: ImportUpload, collector: RowCollector): Promise<ImportFile> {
  const tally = new ByteTally(upload.keepBytes)
  const iterator = stream[Symbol.asyncIterator]()
  const peeked: Buffer[] = []
  const format = declaredFormat(upload.filename, upload.contentType) ?? await sniff(iterator, peeked, tally)
  const chunks = replay(peeked, iterator, tally)
  // The CSV parser loads with the first CSV file (start-up time).
  if (format === 'csv') await (await import('./parse-csv.js')).readImportCsv(chunks, collector)
  else await readImportNdjson(chunks, collector)
  return { format, ...collector.finish(), bytes: tally.bytes, head: tally.head }
}
