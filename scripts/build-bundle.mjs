// The server as one ES module bundle, for a faster start: `npm start`, the bin and the
// Docker image run dist/bundle/server.js. Runs after `tsc` has built dist/ (npm run build).
//
// Node.js spends most of the mock's start-up finding, reading and compiling some 400
// modules (the project's and its dependencies'); one bundle, minified, is read and
// compiled at once. What only some requests need (the Redis client, the CSV parser,
// the export writers) stays behind a dynamic import, in chunks beside the bundle that
// load on first use. The dependencies stay installed: the bundle does not replace them
// (fast-json-stringify is required by name, on first use; see src/http/serialization.ts).
//
// Two things a bundle changes, put back by plugins:
// - `import.meta.url` of each project module is its tsc twin's under dist/src/
//   (scripts/lib/es-twin.mjs), except the entry's, which says whether it is the entry.
// - `__dirname` / `__filename` of a dependency (pino's and thread-stream's worker files,
//   @fastify/swagger-ui's static folder, ioredis's stack trimming) are the folder of that
//   package as installed, found at run time, not the bundle's.
// Any esbuild warning fails the build. `--dist <dir>`: a tsc build elsewhere (the benchmarks' fresh
// build); the bundle goes to <dir>/bundle.
import { readFile, rm } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'
import { esTwinUrl } from './lib/es-twin.mjs'

const root = path.resolve(import.meta.dirname, '..')
const dist = path.resolve(root, parseArgs({ options: { dist: { type: 'string', default: 'dist' } } }).values.dist)
const out = path.join(dist, 'bundle')

/** The folder and name of the package a dependency's file belongs to. */
function packageOf (file) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json')
    if (!existsSync(manifest)) continue
    const { name } = JSON.parse(readFileSync(manifest, 'utf8'))
    if (typeof name === 'string') return { dir, name }
  }
  throw new Error(`build-bundle: no package.json above ${file}`)
}

/** esbuild plugin: a dependency's `__dirname` and `__filename` name its installed files. */
const installedDirname = {
  name: 'installed-dirname',
  setup (builder) {
    builder.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8')
      if (!/\b__(dirname|filename)\b/.test(source)) return undefined
      const pkg = packageOf(args.path)
      const sub = path.relative(pkg.dir, path.dirname(args.path)).split(path.sep).join('/')
      const dirname = `__installedDir(${JSON.stringify(pkg.name)}, ${JSON.stringify(sub)})`
      return {
        contents: source
          .replace(/\b__dirname\b/g, dirname)
          .replace(/\b__filename\b/g, `require('node:path').join(${dirname}, ${JSON.stringify(path.basename(args.path))})`),
        loader: 'js',
        resolveDir: path.dirname(args.path)
      }
    })
  }
}

// Each output file starts with `require` (for the dependencies' CommonJS `require` of
// Node.js built-ins and of fast-json-stringify) and the lookup of installed folders.
const banner = `import { createRequire as __createRequire } from 'node:module';
const require = __createRequire(import.meta.url);
const __installedDirs = new Map();
function __installedDir (name, sub) {
  let dir = __installedDirs.get(name);
  if (dir === undefined) {
    dir = require('node:path').dirname(require.resolve(name + '/package.json'));
    __installedDirs.set(name, dir);
  }
  return require('node:path').join(dir, sub);
}`

await rm(out, { recursive: true, force: true })
const result = await build({
  entryPoints: { server: path.join(root, 'src/server.ts') },
  outdir: out,
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  minify: true,
  banner: { js: banner },
  plugins: [
    esTwinUrl({ root, dist, bundleDir: out, urlOf: (twin) => `new URL(${JSON.stringify(twin)}, import.meta.url).href`, keep: ['src/server.ts'] }),
    installedDirname
  ],
  logLevel: 'silent'
})
if (result.warnings.length > 0) {
  for (const warning of result.warnings) console.error(`build-bundle: ${warning.text} (${warning.location?.file}:${warning.location?.line})`)
  process.exit(1)
}
