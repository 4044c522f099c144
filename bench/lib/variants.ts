/** A build or setting of the mock in a same-run A/B (bench/ab.ts). */
export interface Variant {
  /** Shown in the table. */
  name: string
  /** The folder given, relative to the repository root (bench/instructions.ts loads a tsc build's src/app.js from it). */
  folder: string
  /** The bundle it runs, relative to the repository root: `dist/bundle/server.js` or a copy of it under dist/. */
  entry: string
  /** Settings (environment variables) on top of the bench's. */
  env: Record<string, string>
}

/**
 * Reads `name=folder[:ENV=value;ENV=value]` (comma-separated for several),
 * e.g. `before=dist/bundle-before,after=dist/bundle,silent=dist/bundle:LOG_LEVEL=silent`.
 * The folder holds a bundle's server.js; it stays under dist/ so that the
 * bundle's dependencies resolve from the project's node_modules.
 */
export function parseVariants (text: string): Variant[] {
  const variants = text.split(',').filter((part) => part.trim() !== '').map((part) => {
    const match = /^([\w-]+)=([^:]+)(?::(.*))?$/.exec(part.trim())
    if (match === null) throw new Error(`a variant is name=folder[:ENV=value;…]: ${part}`)
    const [, name, folder, settings = ''] = match as unknown as [string, string, string, string | undefined]
    const env: Record<string, string> = {}
    for (const setting of settings.split(';').filter((each) => each !== '')) {
      const at = setting.indexOf('=')
      if (at <= 0) throw new Error(`a setting is ENV=value: ${setting} (in ${name})`)
      env[setting.slice(0, at)] = setting.slice(at + 1)
    }
    const trimmed = folder.replace(/\/+$/, '')
    return { name, folder: trimmed, entry: `${trimmed}/server.js`, env }
  })
  const names = variants.map((variant) => variant.name)
  if (variants.length === 0) throw new Error('name at least one variant')
  if (new Set([...names, 'bare']).size !== names.length + 1) throw new Error(`variant names must differ from each other and from "bare": ${names.join(', ')}`)
  return variants
}
