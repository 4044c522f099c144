/** Markdown tables for the bench output (tested in test/bench/table.test.ts). */

/** A Markdown table: a header row, an alignment row (numbers right-aligned), and the rows, padded for the terminal. */
export function markdownTable (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((title, column) => Math.max(3, title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-+]?[\d.,]+[%×x]?$|^–$/.test(row[column] ?? '')))
  const line = (cells: readonly string[]): string => '| ' + widths.map((width, column) => {
    const cell = cells[column] ?? ''
    return numeric[column] === true ? cell.padStart(width) : cell.padEnd(width)
  }).join(' | ') + ' |'
  const rule = '| ' + widths.map((width, column) => numeric[column] === true ? '-'.repeat(width - 1) + ':' : '-'.repeat(width)).join(' | ') + ' |'
  return [line(header), rule, ...rows.map(line)].join('\n')
}
