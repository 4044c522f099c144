import t from 'tap'
import { packageOf, shortUrl, summarize, type CpuProfile } from '../../bench/lib/cpuprofile.js'

const ROOT = '/work/repo'
const BUILD = '/work/repo/node_modules/.cache/build'

t.test('shortUrl names files from the repository, the build folder or the package on', async (t) => {
  t.equal(shortUrl('file:///work/repo/src/app.js', [BUILD, ROOT]), 'src/app.js')
  t.equal(shortUrl('file:///work/repo/node_modules/.cache/build/src/app.js', [BUILD, ROOT]), 'src/app.js')
  t.equal(shortUrl('file:///work/repo/node_modules/fastify/lib/reply.js', [`${ROOT}/`]), 'node_modules/fastify/lib/reply.js')
  t.equal(shortUrl('file:///elsewhere/node_modules/pino/pino.js', [ROOT]), 'node_modules/pino/pino.js')
  t.equal(shortUrl('file:///work/repo%20x/a.js', [ROOT]), '/work/repo x/a.js')
  t.equal(shortUrl('node:internal/streams/readable', [ROOT]), 'node:internal/streams/readable')
  t.equal(shortUrl('', [ROOT]), '(native)')
})

t.test('packageOf groups files by package, project folder or Node', async (t) => {
  t.equal(packageOf('node_modules/fastify/lib/reply.js'), 'fastify')
  t.equal(packageOf('node_modules/@fastify/multipart/index.js'), '@fastify/multipart')
  t.equal(packageOf('node:events'), 'node (internals)')
  t.equal(packageOf('internal/deps/undici'), 'node (internals)')
  t.equal(packageOf('(native)'), '(native / VM)')
  t.equal(packageOf('src/http/journal.ts'), 'src/')
  t.equal(packageOf('server.js'), 'server.js')
})

/** Four frames; samples every 1,000 µs from t = 1,000,000 µs. */
function profile (samples: number[]): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      { id: 3, callFrame: { functionName: 'journal', url: 'file:///work/repo/src/http/journal.js', lineNumber: 9, columnNumber: 4 } },
      { id: 4, callFrame: { functionName: '', url: 'file:///work/repo/node_modules/fastify/lib/reply.js', lineNumber: 0 } },
      { id: 5, callFrame: { functionName: 'writeString', url: '', lineNumber: -1 } }
    ],
    startTime: 1_000_000,
    samples,
    timeDeltas: samples.map(() => 1000)
  }
}

t.test('summarize charges each sample the time to the next one, idle apart', async (t) => {
  // The last sample (9) gets no time; an unknown node id is skipped.
  const summary = summarize(profile([3, 3, 4, 2, 2, 5, 3, 9, 1]), [ROOT])
  t.equal(summary.totalMs, 7)
  t.equal(summary.idleMs, 2)
  t.same(summary.functions.map((cost) => [cost.name, cost.selfMs, cost.share]), [
    ['journal src/http/journal.js:10', 3, 0.6],
    ['(anonymous) node_modules/fastify/lib/reply.js:1', 1, 0.2],
    ['writeString', 1, 0.2]
  ])
  t.same(summary.files.map((cost) => cost.name), ['src/http/journal.js', '(native)', 'node_modules/fastify/lib/reply.js'])
  t.same(summary.packages.map((cost) => [cost.name, cost.selfMs]), [['src/', 3], ['(native / VM)', 1], ['fastify', 1]])
})

t.test('summarize counts only the window, and maps places through locate', async (t) => {
  // Sample i is taken at 1,000,000 + 1,000 × (i + 1) µs.
  const window = { fromUs: 1_002_000, toUs: 1_003_000 }
  const locate = (url: string, line: number, column: number): { file: string, line: number } | undefined =>
    url.endsWith('journal.js') ? { file: `file:///work/repo/src/http/journal.ts#${column}`, line: line + 3 } : undefined
  const summary = summarize(profile([3, 3, 4, 2]), [ROOT], window, locate)
  t.equal(summary.totalMs, 2)
  t.same(summary.functions.map((cost) => [cost.name, cost.selfMs]), [
    ['(anonymous) node_modules/fastify/lib/reply.js:1', 1],
    ['journal src/http/journal.ts#4:12', 1]
  ])
})

t.test('an empty profile has no shares to divide', async (t) => {
  const summary = summarize(profile([2, 2]), [ROOT])
  t.equal(summary.idleMs, 1)
  t.same(summary.functions, [])
  t.same(summarize({ nodes: [], startTime: 0, samples: [], timeDeltas: [] }, [ROOT]).totalMs, 0)
})
