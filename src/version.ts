import { readFileSync } from 'node:fs'

function versionIn (dir: URL): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string, version?: string }
    return pkg.name === 'userpilot-mock' ? pkg.version : undefined
  } catch {
    return undefined
  }
}

/**
 * The package version, read from the package.json above this module; the
 * walk up works from `src/` (tests, tsx) and from `dist/src/` (the build).
 */
export function packageVersion (dir: URL = new URL('.', import.meta.url)): string {
  const version = versionIn(dir)
  if (version !== undefined) return version
  return dir.pathname === '/' ? '0.0.0' : packageVersion(new URL('..', dir))
}

/** This build's version. */
export const VERSION = packageVersion()
