/** Pure helpers of bench/peers.ts (tested in test/bench/peers-parse.test.ts). */
import { ratio } from './stats.js'

/** The servers bench/peers.ts can compare; `bare` is the 1.00 every ratio is taken against. */
export const TARGET_NAMES = ['bare', 'mock', 'prism', 'mockoon', 'wiremock'] as const
export type TargetName = typeof TARGET_NAMES[number]

/**
 * The targets `--only` names, in the bench's order, always with `bare`
 * (without it there is no ratio); every target when the flag is absent.
 * Throws on a name it does not know, listing the known ones.
 */
export function selectTargets (only: string | undefined): TargetName[] {
  if (only === undefined) return [...TARGET_NAMES]
  const asked = only.split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '')
  const unknown = asked.filter((name) => !(TARGET_NAMES as readonly string[]).includes(name))
  if (unknown.length > 0) throw new Error(`--only: unknown target ${unknown.join(', ')} (known: ${TARGET_NAMES.join(', ')})`)
  return TARGET_NAMES.filter((name) => name === 'bare' || asked.includes(name))
}

/**
 * Inodes of the sockets listening (state 0A) on `port` in the text of
 * /proc/net/tcp or /proc/net/tcp6, whose local address ends in `:PORT` in hex.
 */
export function listeningInodes (table: string, port: number): string[] {
  const inodes: string[] = []
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    const [, local, , state, , , , , , inode] = fields
    if (local === undefined || inode === undefined) continue
    if (state === '0A' && Number.parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.push(inode)
  }
  return inodes
}

/**
 * The state letter and parent pid of a /proc/<pid>/stat line: the first two
 * fields after the command name, which is in parentheses and may hold spaces
 * and parentheses itself.
 */
export function parseStat (stat: string): { state: string, ppid: number } {
  // split() always yields a first field, the state ('' for an empty line).
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ') as [string, ...string[]]
  return { state, ppid: Number(ppid) }
}

/**
 * A target's ratios to the baseline, round by round: `target[i] / bare[i]`
 * for the rounds where both were measured (a failed run is undefined).
 */
export function roundRatios (target: ReadonlyArray<number | undefined>, bare: ReadonlyArray<number | undefined>): number[] {
  const ratios: number[] = []
  target.forEach((value, round) => {
    const base = bare[round]
    if (value !== undefined && base !== undefined) ratios.push(ratio(value, base))
  })
  return ratios
}

/** A share as a whole percentage, e.g. `100%`, `99.9%` when just short of all (never rounded up to 100), `–` for none. */
export function share (part: number, whole: number): string {
  if (whole === 0) return '–'
  if (part === whole) return '100%'
  const percent = Math.floor((part / whole) * 1000) / 10
  return `${percent % 1 === 0 ? percent.toFixed(0) : percent.toFixed(1)}%`
}
