import t from 'tap'
import { integerOption, parseShutdownOptions, parseSoakOptions, serverCommand, UsageError } from '../../scripts/lib/options.js'

t.test('serverCommand: the build when it exists, else the source through tsx', async (t) => {
  t.same(serverCommand('/repo', { source: false, distExists: true }), { args: ['/repo/dist/bundle/server.js'], entry: 'dist' })
  t.same(serverCommand('/repo', { source: true, distExists: true }), { args: ['--import', 'tsx', '/repo/src/server.ts'], entry: 'source' }, '--source wins')
  t.same(serverCommand('/repo', { source: false, distExists: false }), { args: ['--import', 'tsx', '/repo/src/server.ts'], entry: 'source' }, 'no build yet')
})

t.test('integerOption: default, bounds, and one line naming the option', async (t) => {
  t.equal(integerOption('--n', undefined, 7, 1, 10), 7)
  t.equal(integerOption('--n', '  ', 7, 1, 10), 7, 'blank counts as unset')
  t.equal(integerOption('--n', ' 10 ', 7, 1, 10), 10)
  t.throws(() => integerOption('--n', '1.5', 7, 1, 10), new UsageError('--n must be a whole number from 1 to 10, got "1.5"'))
  t.throws(() => integerOption('--n', '-1', 7, 1, 10), new UsageError('--n must be a whole number from 1 to 10, got "-1"'))
  t.throws(() => integerOption('--n', '11', 7, 1, 10), new UsageError('--n must be a whole number from 1 to 10, got 11'))
  t.throws(() => integerOption('--n', '0', 7, 1, 10), { name: 'UsageError' })
})

t.test('parseSoakOptions: defaults are 300 s with a 30 s warm-up', async (t) => {
  t.same(parseSoakOptions([], {}), {
    duration: 300, warmup: 30, clients: 8, keys: 4, pool: 5000, maxGrowth: 10, stageMs: 5, jobRetention: 100, seed: 1, source: false, help: false
  })
})

t.test('parseSoakOptions: flags, then SOAK_DURATION / SOAK_WARMUP', async (t) => {
  const flags = parseSoakOptions(['--duration', '20', '--warmup=5', '--clients', '2', '--keys', '3', '--pool', '100', '--max-growth', '15', '--stage-ms', '0', '--job-retention', '1000', '--seed', '9', '--source'], { SOAK_DURATION: '999' })
  t.same(flags, { duration: 20, warmup: 5, clients: 2, keys: 3, pool: 100, maxGrowth: 15, stageMs: 0, jobRetention: 1000, seed: 9, source: true, help: false })
  t.match(parseSoakOptions([], { SOAK_DURATION: '60', SOAK_WARMUP: '10' }), { duration: 60, warmup: 10 })
  t.match(parseSoakOptions([], { SOAK_DURATION: '20' }), { duration: 20, warmup: 10 }, 'a short run warms up for half of it at most')
  t.match(parseSoakOptions(['--help'], {}), { help: true })
})

t.test('parseSoakOptions: bad input is a UsageError', async (t) => {
  t.throws(() => parseSoakOptions(['--duration', '10', '--warmup', '10'], {}), new UsageError('--warmup (10 s) must be shorter than --duration (10 s)'))
  t.throws(() => parseSoakOptions(['--bogus'], {}), { name: 'UsageError', message: /Unknown option '--bogus'/ })
  t.throws(() => parseSoakOptions(['stray'], {}), { name: 'UsageError' })
  t.throws(() => parseSoakOptions([], { SOAK_DURATION: 'soon' }), new UsageError('--duration must be a whole number from 1 to 86400, got "soon"'))
})

t.test('parseShutdownOptions: defaults and flags', async (t) => {
  t.same(parseShutdownOptions([]), { delayed: 40, bulk: 10, rows: 10_000, delayMs: 1500, deadlineMs: 10_000, lingerMs: 2000, source: false, help: false })
  t.same(parseShutdownOptions(['--delayed', '5', '--bulk', '0', '--rows', '100', '--delay-ms', '500', '--deadline-ms', '3000', '--linger-ms', '0', '--source', '--help']),
    { delayed: 5, bulk: 0, rows: 100, delayMs: 500, deadlineMs: 3000, lingerMs: 0, source: true, help: true })
  t.throws(() => parseShutdownOptions(['--rows', '10001']), new UsageError('--rows must be a whole number from 1 to 10000, got 10001'))
})
