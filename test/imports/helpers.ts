import { Readable } from 'node:stream'
import type { MetadataMode } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError } from '../../src/errors.js'
import { RowCollector, type ImportRows } from '../../src/imports/collector.js'
import { importRowValidator } from '../../src/imports/validate-row.js'

/** What reading a file gave: its rows, or the error answer (status and entries). */
export type Outcome = ImportRows | { status: number, errors: ErrorEntry[] }

/** A file's bytes as a stream of chunks; `size` cuts them into chunks of that many bytes (1: byte by byte). */
export function chunked (content: string | Buffer, size = Infinity): Readable {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content
  const parts: Buffer[] = []
  for (let at = 0; at < bytes.length; at += Math.min(size, bytes.length)) parts.push(bytes.subarray(at, at + size))
  return Readable.from(parts)
}

export interface ReadOptions {
  maxRows?: number
  mode?: MetadataMode
  /** Collects unknown fields with their lines. */
  unknown?: Array<[string, number]>
}

/** A collector with the real row validator. */
export function collectorFor (options: ReadOptions = {}): RowCollector {
  const validate = importRowValidator({ mode: options.mode ?? 'primitives', onUnknown: (name, line) => options.unknown?.push([name, line]) })
  return new RowCollector(validate, options.maxRows ?? 1000)
}

/** Runs a reader over a collector and says what came out: the rows, or the ApiError as status and entries. */
export async function outcome (read: (collector: RowCollector) => Promise<void>, options: ReadOptions = {}): Promise<Outcome> {
  const collector = collectorFor(options)
  try {
    await read(collector)
    return collector.finish()
  } catch (error) {
    if (error instanceof ApiError) return { status: error.statusCode, errors: error.entries }
    throw error
  }
}

/** A file of these lines, each ended by LF. */
export function lines (...rows: string[]): string {
  return rows.map((row) => row + '\n').join('')
}
