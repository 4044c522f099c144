// Shared by the two esbuild steps of `npm run build` (build-cjs.mjs, build-bundle.mjs).
import { readFile } from 'node:fs/promises'
import path from 'node:path'

/**
 * esbuild plugin: `import.meta.url` of src/x/y.ts becomes the file URL of its ES twin
 * dist/src/x/y.js, so whatever a module finds from its own URL (the package.json, `ui/`,
 * the bin, a dependency) it finds from a bundle exactly as from the tsc build.
 * `urlOf(twin)` writes the expression for the twin's path relative to the bundle's folder;
 * modules listed in `keep` (relative to the root) keep their own URL. `dist`: where tsc wrote the build.
 */
export function esTwinUrl ({ root, dist = path.join(root, 'dist'), bundleDir, urlOf, keep = [] }) {
  return {
    name: 'es-twin-url',
    setup (builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        const source = await readFile(args.path, 'utf8')
        if (!source.includes('import.meta') || keep.includes(path.relative(root, args.path))) return undefined
        const twin = path.relative(bundleDir, path.join(dist, path.relative(root, args.path))).replace(/\.ts$/, '.js')
        return { contents: source.replaceAll('import.meta.url', `(${urlOf(twin)})`), loader: 'ts' }
      })
    }
  }
}
