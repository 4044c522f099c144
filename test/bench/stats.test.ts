import t from 'tap'
import { bodySize, fmt, mb, median, percentile, ratio, spread, verdict } from '../../bench/lib/stats.js'

t.test('percentile takes the nearest rank of sorted samples', async (t) => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
  t.equal(percentile(sorted, 0.5), 5)
  t.equal(percentile(sorted, 0.99), 10)
  t.equal(percentile(sorted, 0), 1)
  t.equal(percentile(sorted, 1), 10)
  t.equal(percentile([7], 0.99), 7)
  t.ok(Number.isNaN(percentile([], 0.5)))
})

t.test('median sorts a copy first', async (t) => {
  const values = [9, 1, 5]
  t.equal(median(values), 5)
  t.same(values, [9, 1, 5])
})

t.test('ratio is NaN where it means nothing', async (t) => {
  t.equal(ratio(3, 4), 0.75)
  t.ok(Number.isNaN(ratio(1, 0)))
  t.ok(Number.isNaN(ratio(Number.NaN, 2)))
  t.ok(Number.isNaN(ratio(2, Number.POSITIVE_INFINITY)))
})

t.test('fmt separates thousands of large integers only', async (t) => {
  t.equal(fmt(1234567), '1,234,567')
  t.equal(fmt(9999), '9999')
  t.equal(fmt(-12345), '-12,345')
  t.equal(fmt(12345.678, 2), '12345.68')
  t.equal(fmt(0.5, 1), '0.5')
  t.equal(fmt(Number.NaN), '–')
  t.equal(mb(3 * 1024 * 1024), '3.0')
})

t.test('verdict lines say the value, the target and whether it is met', async (t) => {
  t.same(verdict('W1 req/s ratio', 0.91, 0.85, true), { met: true, line: 'W1 req/s ratio 0.91 (target ≥ 0.85): met' })
  t.same(verdict('W3 p50 ratio', 2.5, 1.5, false), { met: false, line: 'W3 p50 ratio 2.50 (target ≤ 1.50): NOT met' })
  t.same(verdict('loop max', 12.34, 20, false, 1, ' ms'), { met: true, line: 'loop max 12.3 ms (target ≤ 20.0 ms): met' })
  t.equal(verdict('x', Number.NaN, 1, true).met, false)
})

t.test('spread gives the median and the range of the numbers among the samples', async (t) => {
  t.equal(spread([0.7, 0.55, 0.62]), '0.62 (0.55–0.70)')
  t.equal(spread([4100, 3900, Number.NaN, 5210], 0), '4100 (3900–5210)', 'NaN left out')
  t.equal(spread([0.5]), '0.50', 'one sample: no range')
  t.equal(spread([Number.NaN, 0.5]), '0.50')
  t.equal(spread([]), '–')
})

t.test('bodySize: GET, bytes under 1 KB, whole KB above', async (t) => {
  t.equal(bodySize(0), 'GET')
  t.equal(bodySize(187), '187 B')
  t.equal(bodySize(1023), '1023 B')
  t.equal(bodySize(1024), '1 KB')
  t.equal(bodySize(2_625_536), '2564 KB')
})
