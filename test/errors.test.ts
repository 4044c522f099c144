import t from 'tap'
import { cutText, escapeText, excerpt } from '../src/errors.js'

t.test('excerpt: JSON-escaped, so control characters, NUL, quotes and lone surrogates are inert', async (t) => {
  t.equal(excerpt('plain'), '"plain"')
  t.equal(excerpt('a\u0000b\r\nc"d\\'), '"a\\u0000b\\r\\nc\\"d\\\\"')
  t.equal(excerpt('\ud800x\udfff'), '"\\ud800x\\udfff"')
  t.equal(excerpt('\u202eevil\u009b\u2066'), '"\\u202eevil\\u009b\\u2066"', 'bidi overrides and C1 controls are escaped too')
  t.equal(excerpt('é😀'), '"é😀"', 'other characters, paired surrogates included, are kept')
})

t.test('excerpt: cut at max characters and marked, never longer', async (t) => {
  const long = 'x'.repeat(10_000)
  t.equal(excerpt(long), `"${'x'.repeat(64)}…"`)
  t.equal(excerpt(long, 8), `"${'x'.repeat(8)}…"`)
  t.equal(excerpt('x'.repeat(8), 8), `"${'x'.repeat(8)}"`, 'exactly max characters is not cut')
  t.ok(excerpt('\u0001'.repeat(10_000)).length <= 64 * 6 + 3, 'escaped, it is still bounded')
})

t.test('escapeText: unsafe characters as \\uXXXX, the rest untouched, no quotes', async (t) => {
  t.equal(escapeText('a\u0000\n\u007f\u200e\u2028\udc00b'), 'a\\u0000\\u000a\\u007f\\u200e\\u2028\\udc00b')
  t.equal(escapeText('plain "text" / ~'), 'plain "text" / ~')
})

t.test('cutText: never half a surrogate pair; null when short enough', async (t) => {
  t.equal(cutText('abc', 3), null)
  t.equal(cutText('abcd', 3), 'abc')
  t.equal(cutText('ab😀c', 3), 'ab', 'the pair that the cut would split is left out whole')
  t.equal(cutText('a😀c', 3), 'a😀', 'a pair that fits is kept')
  t.equal(excerpt('x😀'.repeat(40), 2), '"x…"')
})
