import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

/** The repository's package.json. */
const PACKAGE = resolve(import.meta.dirname, '../../package.json')

/**
 * The Node.js flags of `npm start` (`node <flags> <entry>` in package.json),
 * so that the benches run the mock with the flags it is shipped with.
 */
export function startFlags (startScript = (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { scripts: { start: string } }).scripts.start): string[] {
  const words = startScript.trim().split(/\s+/)
  if (words[0] !== 'node' || words.length < 2) throw new Error(`npm start is not "node [flags] <entry>": ${startScript}`)
  return words.slice(1, -1)
}

/** The Node.js flags of the Docker image's `CMD ["node", <flags>…, <entry>]`. */
export function dockerFlags (dockerfile: string): string[] {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(dockerfile)
  if (cmd === null) throw new Error('no exec-form CMD in the Dockerfile')
  const words = JSON.parse(cmd[1] as string) as string[]
  if (words[0] !== 'node') throw new Error(`the Dockerfile's CMD does not run node: ${cmd[1] as string}`)
  return words.slice(1, -1)
}
