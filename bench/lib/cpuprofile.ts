/**
 * Reads V8 `.cpuprofile` files (from `node --cpu-prof`) into self time per
 * function, per file and per package, so the bench can print the top costs
 * (tested in test/bench/cpuprofile.test.ts).
 */

/** The parts of a V8 CPU profile that the analysis reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string, url: string, lineNumber: number, columnNumber?: number }
  }>
  /** Microseconds on the monotonic clock (the one `process.hrtime` reads, in every process of the machine). */
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

/** Only the samples taken in this window count (microseconds, monotonic clock: `process.hrtime.bigint() / 1000n`). */
export interface Window { fromUs: number, toUs: number }

/** Self time of one function, file or package. */
export interface Cost {
  /** `name file:line` for a function; the file or package otherwise. */
  name: string
  selfMs: number
  /** Share of all sampled time, 0..1. */
  share: number
}

/** Self time grouped three ways, biggest first; idle time apart. */
export interface ProfileSummary {
  /** Sampled time in the window, idle included. */
  totalMs: number
  /** Of which the process waited for I/O (V8's `(idle)`); shares are of the busy rest. */
  idleMs: number
  functions: Cost[]
  files: Cost[]
  packages: Cost[]
}

/**
 * A script URL made short: relative to the first of `roots` that holds it
 * (list a build folder before the repository), `node_modules/<pkg>/…` from
 * the package on, `node:` kept, `(native)` for none.
 */
export function shortUrl (url: string, roots: readonly string[]): string {
  if (url === '') return '(native)'
  let path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url
  const root = roots.map((each) => each.endsWith('/') ? each : `${each}/`).find((each) => path.startsWith(each))
  if (root !== undefined) path = path.slice(root.length)
  const modules = path.lastIndexOf('node_modules/')
  return modules >= 0 ? path.slice(modules) : path
}

/** Where a compiled line came from (e.g. through a source map); undefined keeps the compiled place. */
export type Locate = (url: string, line: number, column: number) => { file: string, line: number } | undefined

/** The package a short URL belongs to: `fastify`, `@scope/name`, `node` for Node's own code, or the project folder (`src`, `dist`…). */
export function packageOf (file: string): string {
  if (file.startsWith('node:') || file.startsWith('internal/')) return 'node (internals)'
  if (file === '(native)') return '(native / VM)'
  const modules = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)
  if (modules !== null) return modules[1] as string
  const first = file.split('/')[0] as string
  return first === file ? file : `${first}/`
}

/** Biggest first; `total` is never 0 when there are costs (only busy samples make costs). */
function ranked (costs: Map<string, number>, total: number): Cost[] {
  return [...costs].map(([name, selfMs]) => ({ name, selfMs, share: selfMs / total }))
    .sort((a, b) => b.selfMs - a.selfMs || a.name.localeCompare(b.name))
}

function add (costs: Map<string, number>, key: string, ms: number): void {
  costs.set(key, (costs.get(key) ?? 0) + ms)
}

/**
 * Self time per function (name and file:line, 1-based; through `locate`
 * when given, e.g. back to the TypeScript source), per file and per
 * package, of the samples in `window` (all when none). Each sample is
 * charged the time until the next one (V8 records the delta before each
 * sample); the last sample gets none. Idle time is counted apart.
 */
export function summarize (profile: CpuProfile, roots: readonly string[], window?: Window, locate?: Locate): ProfileSummary {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]))
  const functions = new Map<string, number>()
  const files = new Map<string, number>()
  const packages = new Map<string, number>()
  let totalMs = 0
  let idleMs = 0
  let busyMs = 0
  let at = profile.startTime
  for (let index = 0; index < profile.samples.length; index++) {
    // V8 writes one delta per sample.
    at += profile.timeDeltas[index] as number
    const ms = (profile.timeDeltas[index + 1] ?? 0) / 1000
    const frame = frames.get(profile.samples[index] as number)
    if (frame === undefined || ms <= 0) continue
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) continue
    totalMs += ms
    if (frame.functionName === '(idle)') {
      idleMs += ms
      continue
    }
    busyMs += ms
    const file = shortUrl(frame.url, roots)
    const name = frame.functionName === '' ? '(anonymous)' : frame.functionName
    const source = frame.url === '' ? undefined : locate?.(frame.url, frame.lineNumber, frame.columnNumber ?? 0)
    const place = source === undefined ? `${file}:${frame.lineNumber + 1}` : `${shortUrl(source.file, roots)}:${source.line}`
    add(functions, frame.url === '' ? name : `${name} ${place}`, ms)
    add(files, file, ms)
    add(packages, packageOf(file), ms)
  }
  return { totalMs, idleMs, functions: ranked(functions, busyMs), files: ranked(files, busyMs), packages: ranked(packages, busyMs) }
}
