import { pipeline } from 'node:stream/promises'
import { CsvError, parse } from 'csv-parse'
import { MAX_METADATA_KEYS, METADATA_KEY_PATTERN } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError, excerpt, labelFor } from '../errors.js'
import { MAX_ERRORS, shortPath } from '../http/validation.js'
import type { RowCollector } from './collector.js'

/** Longest cell, in characters: far above any real value, and it keeps one row's cost bounded. */
export const MAX_CELL_CHARS = 65_536
/** Longest row, in bytes: csv-parse stops there while streaming, so a runaway quote never buffers the file. */
export const MAX_ROW_BYTES = 1_048_576

/** The columns every row needs, whatever its type. */
const REQUIRED_COLUMNS = ['event_type', 'source', 'inserted_at'] as const
const METADATA_PREFIX = 'metadata.'
const METADATA_KEY = new RegExp(METADATA_KEY_PATTERN)

/** What the header row says: each column's field, or its metadata key for a `metadata.<key>` column. */
interface Header {
  names: string[]
  /** Per column: the metadata key of a `metadata.<key>` column, else undefined. */
  keys: Array<string | undefined>
}

function entry (code: string, message: string, details: string): ErrorEntry {
  return { error: labelFor(400), error_code: code, message, details }
}

/** A column's name for a message: short and escaped. */
const shown = (name: string): string => excerpt(name, 40)

/** Reads the header row (found on `line`); every problem of it at once, as one 400. */
function readHeader (cells: readonly string[], line: number): Header {
  const names = cells.map((cell) => cell.trim())
  const problems: ErrorEntry[] = []
  const at = (path: string[]): string => `line ${line}: ${shortPath(path)}`
  const seen = new Set<string>()
  const keys = names.map((name, index) => {
    if (name === '') {
      problems.push(entry('empty_column', `Line ${line}: column ${index + 1} of the header row has no name: each column names a field.`, `line ${line}: column ${index + 1}`))
    } else if (seen.has(name)) {
      problems.push(entry('duplicate_column', `Line ${line}: the header row names the column ${shown(name)} twice.`, at([name])))
    }
    seen.add(name)
    if (!name.startsWith(METADATA_PREFIX)) return undefined
    const key = name.slice(METADATA_PREFIX.length)
    if (!METADATA_KEY.test(key)) {
      problems.push(entry('invalid_metadata_key', `Line ${line}: the column ${shown(name)} names a metadata key that is empty or longer than 255 characters.`, at(['metadata', key])))
    }
    return key
  })
  const keyed = names.filter((_, index) => keys[index] !== undefined)
  if (keyed.length > MAX_METADATA_KEYS) {
    problems.push(entry('too_many_metadata_keys', `Line ${line}: the header row has ${keyed.length} metadata.<key> columns; a row carries at most ${MAX_METADATA_KEYS} properties.`, at(['metadata'])))
  }
  if (keyed.length > 0 && seen.has('metadata')) {
    problems.push(entry('mixed_metadata_columns',
      `Line ${line}: the header row has both a metadata column (a JSON object) and metadata.<key> columns such as ${shown(keyed[0] as string)}: use one of the two forms in a file.`,
      `line ${line}: metadata, ${shortPath([keyed[0] as string]).slice(1)}`))
  }
  for (const name of REQUIRED_COLUMNS) {
    if (!seen.has(name)) problems.push(entry('missing_column', `Line ${line}: the header row has no ${name} column: every row needs one.`, at([name])))
  }
  if (problems.length > 0) throw new ApiError(400, problems.slice(0, MAX_ERRORS))
  return { names, keys }
}

/** Whether a record is a blank line: no cell holds anything but white space (`,,,` from a spreadsheet too). */
function isBlank (cells: readonly string[]): boolean {
  return cells.every((cell) => cell.trim() === '')
}

/** Line breaks inside a record's quoted cells: the lines it spans beyond its first. */
function breaksIn (cells: readonly string[]): number {
  let breaks = 0
  for (const cell of cells) {
    for (let at = cell.indexOf('\n'); at !== -1; at = cell.indexOf('\n', at + 1)) breaks++
  }
  return breaks
}

/**
 * One data row as the object an NDJSON line would be: an empty cell is an
 * absent field, `metadata.<key>` cells (text, as sent) make the metadata
 * object, a `metadata` cell is parsed as JSON. Built with Object.fromEntries,
 * so a column named `__proto__` is a plain field.
 */
function readRow (header: Header, cells: readonly string[], line: number, collector: RowCollector): void {
  if (cells.length !== header.names.length) {
    collector.reject([entry('wrong_cell_count',
      `Line ${line} has ${cells.length} cells, the header row ${header.names.length}: quote a cell that holds a comma, a quote or a line break ("a, b").`,
      `line ${line}`)])
    return
  }
  // A row with an oversized cell is refused for that alone, not also for what the cell would have held.
  const oversized = cells.flatMap((cell, index) => cell.length > MAX_CELL_CHARS ? [header.names[index] as string] : [])
  if (oversized.length > 0) {
    collector.reject(oversized.map((name) => entry('cell_too_large', `Line ${line}: the cell of the column ${shown(name)} is longer than ${MAX_CELL_CHARS} characters.`, `line ${line}: ${shortPath([name])}`)))
    return
  }
  const found: ErrorEntry[] = []
  const fields: Array<[string, unknown]> = []
  const metadata: Array<[string, string]> = []
  for (const [index, cell] of cells.entries()) {
    const name = header.names[index] as string
    if (cell === '') continue
    const key = header.keys[index]
    if (key !== undefined) {
      metadata.push([key, cell])
    } else if (name === 'metadata') {
      try {
        fields.push([name, JSON.parse(cell)])
      } catch {
        found.push(entry('invalid_metadata', `Line ${line}: the metadata cell is not JSON: it must hold a JSON object such as {"plan":"pro"}; got ${excerpt(cell, 40)}.`, `line ${line}: /metadata`))
      }
    } else {
      fields.push([name, cell])
    }
  }
  if (metadata.length > 0) fields.push(['metadata', Object.fromEntries(metadata)])
  collector.check(Object.fromEntries(fields), line, found)
}

/**
 * The 400 entry for a file csv-parse cannot read on, at the line where the
 * broken row starts. Only the four errors named here can arise with this
 * module's options; any other is named generally.
 */
export function syntaxEntry (error: CsvError, line: number): ErrorEntry {
  const reasons: Partial<Record<string, string>> = {
    CSV_QUOTE_NOT_CLOSED: 'a quoted cell that starts in this row is never closed',
    CSV_INVALID_CLOSING_QUOTE: 'a quoted cell is followed by more text: a quote inside a quoted cell is written twice ("")',
    INVALID_OPENING_QUOTE: 'a quote appears inside a cell that does not start with one: quote the whole cell and write the quote twice ("")',
    CSV_MAX_RECORD_SIZE: `the row is longer than ${MAX_ROW_BYTES} bytes (often a quote left open)`
  }
  const reason = reasons[error.code] ?? 'the row is not valid CSV'
  return entry(error.code === 'CSV_MAX_RECORD_SIZE' ? 'row_too_large' : 'malformed_csv', `Line ${line} cannot be read as CSV: ${reason}.`, `line ${line}`)
}

/**
 * Reads a CSV import file from its chunks with csv-parse, streaming: a header
 * row of field names, then one row per record, each handed to the collector
 * as it is parsed. A byte-order mark, CRLF or LF line ends, blank lines and
 * quoted cells over several lines are read as such; line numbers are the
 * file's physical lines, where each row starts. Header problems and broken
 * quoting end the reading with a 400.
 */
export async function readImportCsv (chunks: AsyncIterable<Buffer>, collector: RowCollector): Promise<void> {
  let header: Header | undefined
  // csv-parse's own line count counts a CRLF inside a quoted cell twice: lines
  // are counted here instead, from the blank lines it skipped and the line
  // breaks inside each record.
  let lastLine = 0
  let lastEmpty = 0
  const startOf = (empty: number): number => lastLine + 1 + empty - lastEmpty
  const parser = parse({
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    record_delimiter: ['\r\n', '\n'],
    max_record_size: MAX_ROW_BYTES,
    on_record: (cells: string[], context) => {
      const line = startOf(context.empty_lines)
      lastLine = line + breaksIn(cells)
      lastEmpty = context.empty_lines
      if (isBlank(cells)) return null
      if (header === undefined) header = readHeader(cells, line)
      else if (collector.take()) readRow(header, cells, line, collector)
      // Records are handled here, in order; none is passed on.
      return null
    }
  })
  try {
    await pipeline(chunks, parser)
  } catch (error) {
    if (error instanceof CsvError) throw collector.abort(syntaxEntry(error, startOf(parser.info.empty_lines)))
    throw error
  }
}
