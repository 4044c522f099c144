import type { ErrorEntry } from '../../schemas/errors.js'
import { ApiError, apiError } from '../errors.js'
import { MAX_ERRORS } from '../http/validation.js'
import type { ImportRow } from './import-row.js'
import type { RowValidator } from './validate-row.js'

/** The good rows of an import file, each with the line it starts on. */
export interface ImportRows {
  rows: ImportRow[]
  lines: number[]
}

/**
 * Gathers an import file's rows as a reader finds them, whatever the format:
 * counts every row, checks those within MOCK_IMPORT_MAX_ROWS (past it they
 * are only counted, so that the 413 can say how many there were), keeps the
 * good ones and at most 100 problems (past them, rows are only counted).
 */
export class RowCollector {
  readonly #validate: RowValidator
  readonly #maxRows: number
  readonly #rows: ImportRow[] = []
  readonly #lines: number[] = []
  readonly #problems: ErrorEntry[] = []
  #count = 0

  constructor (validate: RowValidator, maxRows: number) {
    this.#validate = validate
    this.#maxRows = maxRows
  }

  /** Counts one row of the file; true when it is to be read and checked. */
  take (): boolean {
    return ++this.#count <= this.#maxRows && this.#problems.length < MAX_ERRORS
  }

  /** Checks a taken row found on `line`; `found` are problems its reader already saw (they make it bad too). */
  check (raw: unknown, line: number, found: readonly ErrorEntry[] = []): void {
    const result = this.#validate(raw, line)
    if (result.problems === undefined && found.length === 0) {
      this.#rows.push(result.row)
      this.#lines.push(line)
      return
    }
    this.reject([...result.problems ?? [], ...found])
  }

  /** Problems of a taken row that could not be read as a row at all. */
  reject (problems: readonly ErrorEntry[]): void {
    this.#problems.push(...problems.slice(0, MAX_ERRORS - this.#problems.length))
  }

  /**
   * The 400 for a file that cannot be read on (broken CSV quoting): the
   * problems found before it, then that one, which is always shown.
   */
  abort (problem: ErrorEntry): ApiError {
    return new ApiError(400, [...this.#problems.slice(0, MAX_ERRORS - 1), problem])
  }

  /** The good rows once the file has ended; a 413 past the row limit, else a 400 for no rows or any bad one. */
  finish (): ImportRows {
    if (this.#count > this.#maxRows) {
      throw apiError(413, 'too_many_rows',
        `An import file carries at most ${this.#maxRows} rows (MOCK_IMPORT_MAX_ROWS); this one has ${this.#count}. Split it into several files.`,
        `${this.#count} rows`)
    }
    if (this.#count === 0) {
      throw apiError(400, 'empty_file',
        'The uploaded file has no rows: send a CSV file with a header row and one row per line, or NDJSON with one JSON object per line.',
        'file')
    }
    if (this.#problems.length > 0) throw new ApiError(400, this.#problems)
    return { rows: this.#rows, lines: this.#lines }
  }
}
