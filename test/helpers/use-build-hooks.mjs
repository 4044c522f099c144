// Module hooks of `npm test` (see use-build.mjs). A TypeScript file of the project keeps its
// own URL, so import.meta.url and relative paths mean what they mean in the sources, but its
// code is the JavaScript that tsconfig.test-build.json emitted for it, with the source map
// that points coverage and stack traces back at the .ts file.
import { existsSync, readFileSync } from 'node:fs'

const ROOT = new URL('../../', import.meta.url).href
const BUILD = new URL('.test-build/', ROOT)
const SOURCE_MAP_LINE = /\/\/# sourceMappingURL=\S+\s*$/

const ownTypeScript = (url) => url.startsWith(ROOT) && url.endsWith('.ts') && !url.includes('/node_modules/')

export async function resolve (specifier, context, nextResolve) {
  // NodeNext sources import each other as .js: where only the .ts exists, that is the module.
  const parent = context.parentURL
  if (parent !== undefined && ownTypeScript(parent) && /^\.\.?\//.test(specifier) && specifier.endsWith('.js')) {
    const url = new URL(specifier, parent)
    const typescript = new URL(`${url.href.slice(0, -'.js'.length)}.ts`)
    if (!existsSync(url) && existsSync(typescript)) return { url: typescript.href, format: 'module', shortCircuit: true }
  }
  return await nextResolve(specifier, context)
}

export async function load (url, context, nextLoad) {
  if (!ownTypeScript(url)) return await nextLoad(url, context)
  const built = new URL(`${url.slice(ROOT.length, -'.ts'.length)}.js`, BUILD)
  // The map inline, as loaders give it: for a module whose source a hook supplied, Node.js 20
  // left a map file named by URL unread (module.findSourceMap found nothing), so coverage was unmapped.
  const map = JSON.parse(readFileSync(new URL(`${built.href}.map`), 'utf8'))
  map.sources = [url]
  const inline = Buffer.from(JSON.stringify(map)).toString('base64')
  const source = readFileSync(built, 'utf8').replace(SOURCE_MAP_LINE, `//# sourceMappingURL=data:application/json;base64,${inline}\n`)
  return { format: 'module', source, shortCircuit: true }
}
