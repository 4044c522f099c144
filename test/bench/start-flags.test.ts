import { readFileSync } from 'node:fs'
import t from 'tap'
import { dockerFlags, startFlags } from '../../bench/lib/start-flags.js'

t.test('npm start, the Docker image and the benches run the mock with the same Node.js flags', async (t) => {
  const flags = startFlags()
  t.same(flags, [], 'npm start: node and the bundle, no flags (BENCHMARKS.md section 8)')
  t.same(dockerFlags(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')), flags, 'the Docker CMD')
})

t.test('startFlags reads the words between node and the entry', async (t) => {
  t.same(startFlags('node dist/src/server.js'), [])
  t.same(startFlags('node --a --b=1 dist/src/server.js'), ['--a', '--b=1'])
  t.throws(() => startFlags('tsx src/server.ts'), /not "node \[flags\] <entry>"/)
  t.throws(() => startFlags('node'), /not "node \[flags\] <entry>"/)
})

t.test('dockerFlags reads the exec-form CMD', async (t) => {
  t.same(dockerFlags('FROM x\nCMD ["node", "--f", "dist/src/server.js"]\n'), ['--f'])
  t.throws(() => dockerFlags('FROM x\nCMD node dist/src/server.js\n'), /no exec-form CMD/)
  t.throws(() => dockerFlags('FROM x\nCMD ["npm", "start"]\n'), /does not run node/)
})
