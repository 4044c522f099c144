// `npm test` (fast) and `npm run test:slow`: the one place where the suite is split.
// Test files named *.slow.test.ts (several processes, a browser, long property runs) run only
// under test:slow, which CI runs too. The fast run loads the project's TypeScript compiled once
// (test/helpers/use-build.mjs); the slow run goes through tap's TypeScript loader.
// Coverage: each file of the package is held at 100% by one of the two runs (test/coverage-map.mjs).
// Usage: node scripts/test.mjs fast|slow [tap options and files]
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { SLOW_ONLY } from '../test/coverage-map.mjs'

const SLOW = '**/*.slow.test.ts'
const [set, ...rest] = process.argv.slice(2)
if (set !== 'fast' && set !== 'slow') {
  console.error('usage: node scripts/test.mjs fast|slow [tap options and files]')
  process.exit(2)
}
const filesGiven = rest.some((arg) => !arg.startsWith('-') && arg.endsWith('.ts'))

// On the command line, --node-arg replaces package.json's list: the node:test reporter flag
// (without it Node.js 23+ reports node:test files in a format tap reads as no tests) is given
// here, once, for both sets; callers add theirs after it.
const reporter = '--node-arg=--test-reporter=tap'
const args = set === 'slow'
  ? ['--coverage-map=test/coverage-map.mjs', reporter, ...rest, ...(filesGiven ? [] : [SLOW])]
  : [
      `--exclude=${SLOW}`,
      ...Object.values(SLOW_ONLY).flat().map((file) => `--coverage-exclude=${file}`),
      // The build instead of tap's TypeScript loader (test/helpers/use-build.mjs); @tapjs/typescript
      // skips its loader in a test process where TAP_TYPE_STRIP_ONLY is 1.
      '--test-env=TAP_TYPE_STRIP_ONLY=1',
      '--node-arg=--enable-source-maps',
      '--node-arg=--import=./test/helpers/use-build.mjs',
      reporter,
      ...rest
    ]

// tap's own bin, so that this also works outside npm scripts (no node_modules/.bin on PATH).
const require = createRequire(import.meta.url)
const tapPackage = require.resolve('tap/package.json')
const tapBin = join(dirname(tapPackage), require(tapPackage).bin.tap)
const tap = spawn(process.execPath, [tapBin, ...args], { stdio: 'inherit' })
tap.on('exit', (code, signal) => { process.exit(code ?? 1) })
