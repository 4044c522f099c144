import t from 'tap'
import { markdownTable } from '../../bench/lib/table.js'

t.test('a Markdown table with numeric columns right-aligned', async (t) => {
  const table = markdownTable(['server', 'req/s', 'ratio'], [['baseline', '12,000', '1.00'], ['mock', '9000', '–']])
  t.equal(table, [
    '| server   |  req/s | ratio |',
    '| -------- | -----: | ----: |',
    '| baseline | 12,000 |  1.00 |',
    '| mock     |   9000 |     – |'
  ].join('\n'))
})

t.test('short and missing cells are padded; a table without rows has no numeric column', async (t) => {
  t.equal(markdownTable(['a', 'b'], [['x']]), '| a   | b   |\n| --- | --- |\n| x   |     |')
  t.equal(markdownTable(['n'], []), '| n   |\n| --- |')
})
