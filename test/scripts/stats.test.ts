import t from 'tap'
import { errorCode, formatMb, formatPercent, growthPercent, median, parseVmRss, soakFailures, soakSummary, Tally, type SoakResult } from '../../scripts/lib/stats.js'

const MB = 1024 * 1024

t.test('parseVmRss reads the VmRSS line of /proc/<pid>/status in bytes', async (t) => {
  const status = 'Name:\tnode\nVmPeak:\t 1200000 kB\nVmRSS:\t   81920 kB\nRssAnon:\t   60000 kB\n'
  t.equal(parseVmRss(status), 81920 * 1024)
  t.throws(() => parseVmRss('Name:\tnode\nVmRSSX: 1 kB\n'), /no VmRSS line/)
})

t.test('median: middle value, mean of the two middle ones, order does not matter', async (t) => {
  t.equal(median([5]), 5)
  t.equal(median([3, 1, 2]), 2)
  t.equal(median([4, 1, 3, 2]), 2.5)
  t.throws(() => median([]), /median of no values/)
})

t.test('growth and formats', async (t) => {
  t.equal(growthPercent(100, 110), 10)
  t.equal(growthPercent(200, 150), -25)
  t.equal(formatMb(80.14 * MB), '80.1 MB')
  t.equal(formatPercent(2.44), '+2.4%')
  t.equal(formatPercent(0), '+0.0%')
  t.equal(formatPercent(-0.31), '-0.3%')
})

t.test('Tally counts answers by class and status, and failures by code', async (t) => {
  const tally = new Tally()
  t.equal(tally.requests, 0)
  t.equal(tally.describe(), 'by class: none\nby status: none\nerrors: none')
  for (const status of [202, 200, 200, 404, 429, 503]) tally.status(status)
  tally.error('ECONNRESET')
  tally.error('ECONNRESET')
  tally.error('ETIMEDOUT')
  t.equal(tally.requests, 9)
  t.equal(tally.serverErrors, 1)
  t.equal(tally.errorCount, 3)
  t.equal(tally.describe(), 'by class: 2xx 3, 4xx 2, 5xx 1\nby status: 200: 2, 202: 1, 404: 1, 429: 1, 503: 1\nerrors: ECONNRESET: 2, ETIMEDOUT: 1')
  t.equal(new Tally().serverErrors, 0, 'no 5xx yet')
})

t.test('errorCode: the code, else the message, else the value', async (t) => {
  t.equal(errorCode(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })), 'ECONNRESET')
  t.equal(errorCode(new Error('socket hang up')), 'socket hang up')
  t.equal(errorCode(Object.assign(new Error('odd'), { code: 42 })), 'odd', 'a non-string code is ignored')
  t.equal(errorCode('plain'), 'plain')
  t.equal(errorCode(null), 'null')
})

const passing: SoakResult = { requests: 123456, serverErrors: 0, errors: 0, warmRss: 80.1 * MB, endRss: 82 * MB, maxRss: 90 * MB, seconds: 300, maxGrowth: 10 }

t.test('soakSummary: the final line', async (t) => {
  t.equal(soakSummary(passing), 'soak: 123456 requests, 0 5xx, 0 errors, rss warm 80.1 MB -> end 82.0 MB (+2.4%, max 90.0 MB) over 300 s')
})

t.test('soakFailures: 5xx, network errors, growth at the limit, nothing answered', async (t) => {
  t.same(soakFailures(passing), [])
  t.same(soakFailures({ ...passing, endRss: 70 * MB }), [], 'shrinking is fine')
  t.same(soakFailures({ ...passing, serverErrors: 2, errors: 1, endRss: 88.11 * MB }), [
    '2 answers were 5xx',
    '1 requests got no answer (network errors)',
    'RSS grew +10.0% after warm-up (limit 10%)'
  ])
  t.same(soakFailures({ ...passing, warmRss: 100, endRss: 110 }), ['RSS grew +10.0% after warm-up (limit 10%)'], 'exactly the limit fails')
  t.same(soakFailures({ ...passing, requests: 0 }), ['no request was answered'])
})
