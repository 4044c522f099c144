// `npm test` runs its test files with `--import=./test/helpers/use-build.mjs` (and without
// tap's TypeScript loader, see scripts/test.mjs): every .ts file of the project is then loaded
// from what tsconfig.test-build.json compiled in `pretest`, with source maps, so coverage is
// still reported on the .ts files. The TypeScript loader costs about 1.3 s of CPU in every test
// process and compiles the app again in each: that was most of the suite's time on 2 cores.
// `npx tap <file>` without this flag runs the sources through tap's TypeScript loader.
import { register } from 'node:module'

register('./use-build-hooks.mjs', import.meta.url)
