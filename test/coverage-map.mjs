// tap's --coverage-map for `npm run test:slow` (scripts/test.mjs). The slow files cover mostly
// what the fast ones cover already, so their run gates only the files listed here, which only
// they exercise fully (processes spawned, signals, the CLI): `npm test` leaves these out of its
// coverage and this run holds them at 100%. Any other slow file adds no coverage gate.
export const SLOW_ONLY = {
  'test/child-process.slow.test.ts': ['src/child-process.ts'],
  'test/server.slow.test.ts': ['src/server.ts'],
  'test/mock.slow.test.ts': ['src/mock.ts']
}

/** @param {string} testFile the test file, relative to the project root */
export default function coverageMap (testFile) {
  return SLOW_ONLY[testFile] ?? null
}
