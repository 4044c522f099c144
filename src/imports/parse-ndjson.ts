import { excerpt, labelFor } from '../errors.js'
import { readLines } from '../http/ndjson.js'
import type { RowCollector } from './collector.js'

/**
 * Reads an NDJSON import file line by line from its chunks (never as one
 * string), as bulk uploads are read: one JSON object per line, blank lines
 * skipped, CRLF line ends and a leading byte-order mark tolerated. Each row
 * goes to the collector with its line number.
 */
export async function readImportNdjson (chunks: AsyncIterable<Buffer>, collector: RowCollector): Promise<void> {
  let line = 0
  for await (const raw of readLines(chunks)) {
    line++
    let text = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line === 1 && text.startsWith('\ufeff')) text = text.slice(1)
    if (text.trim() === '' || !collector.take()) continue
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      collector.reject([{ error: labelFor(400), error_code: 'malformed_json', message: `Line ${line} is not valid JSON: ${excerpt(text, 40)}.`, details: `line ${line}` }])
      continue
    }
    collector.check(value, line)
  }
}
