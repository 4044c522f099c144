// The CommonJS twin of the library entry, for `require('userpilot-mock')` and
// Jest's default runtime (which cannot load ES modules). Runs after `tsc` has
// built dist/ (npm run build):
//
//   dist/cjs/src/index.cjs       src/index.ts and everything it imports, in one file
//                                (esbuild; the dependencies stay `require` calls)
//   dist/cjs/{src,schemas}/*.d.cts  the declarations tsc wrote to dist/, as CommonJS
//                                declarations (relative imports `.js` → `.cjs`)
//
// `import.meta.url` does not exist in CommonJS. Each module that reads it gets the
// URL of its ES twin under dist/ instead, so whatever it finds from there (the
// package.json, `ui/`, the bin, a dependency) it finds exactly as the ES build does.
// Any other `import.meta` use, or any esbuild warning, fails the build.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { build } from 'esbuild'
import { esTwinUrl } from './lib/es-twin.mjs'

const root = path.resolve(import.meta.dirname, '..')
const dist = path.join(root, 'dist')
const out = path.join(dist, 'cjs')
const bundleDir = path.join(out, 'src')

/** Writes the CommonJS declaration of `file` (a .d.ts under dist/) and of every file it imports. */
async function writeDeclarations (file, done = new Set()) {
  if (done.has(file)) return
  done.add(file)
  const text = await readFile(file, 'utf8')
  const imported = []
  const rewritten = text
    .replace(/\n\/\/# sourceMappingURL=.*$/, '')
    .replace(/((?:from|import|import\()\s*)(['"])(\.{1,2}\/[^'"]+)\.js\2/g, (_match, before, quote, specifier) => {
      imported.push(path.resolve(path.dirname(file), `${specifier}.d.ts`))
      return `${before}${quote}${specifier}.cjs${quote}`
    })
  const target = path.join(out, path.relative(dist, file)).replace(/\.d\.ts$/, '.d.cts')
  await mkdir(path.dirname(target), { recursive: true })
  await writeFile(target, rewritten)
  for (const next of imported) await writeDeclarations(next, done)
  return done.size
}

await rm(out, { recursive: true, force: true })
const result = await build({
  entryPoints: [path.join(root, 'src/index.ts')],
  outfile: path.join(bundleDir, 'index.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20.19',
  packages: 'external',
  plugins: [esTwinUrl({ root, bundleDir, urlOf: (twin) => `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(twin)})).href` })],
  logLevel: 'silent'
})
if (result.warnings.length > 0) {
  for (const warning of result.warnings) console.error(`build-cjs: ${warning.text} (${warning.location?.file}:${warning.location?.line})`)
  process.exit(1)
}
await writeDeclarations(path.join(dist, 'src/index.d.ts'))
