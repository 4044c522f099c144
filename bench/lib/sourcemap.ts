import { existsSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Locate } from './cpuprofile.js'

/**
 * Maps places in compiled project files back to their TypeScript source
 * through the `.js.map` beside each (tsc writes them: sourceMap is on).
 * Files without a map (dependencies, Node) keep their compiled place.
 */
export function sourceMapLocator (): Locate {
  const maps = new Map<string, SourceMap | undefined>()
  return (url, line, column) => {
    if (!url.startsWith('file://') || (url.includes('/node_modules/') && !url.includes('/node_modules/.cache/'))) return undefined
    let map = maps.get(url)
    if (!maps.has(url)) {
      const path = fileURLToPath(url) + '.map'
      map = existsSync(path) ? new SourceMap(JSON.parse(readFileSync(path, 'utf8'))) : undefined
      maps.set(url, map)
    }
    const entry = map?.findEntry(line, column) as { originalSource?: string, originalLine?: number } | undefined
    if (entry?.originalSource === undefined || entry.originalLine === undefined) return undefined
    const file = entry.originalSource.startsWith('file://') ? entry.originalSource : new URL(entry.originalSource, url).href
    return { file, line: entry.originalLine + 1 }
  }
}
