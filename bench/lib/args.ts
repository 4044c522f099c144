import { parseArgs } from 'node:util'
import { entryFrom, freshBuild, type Entry } from './server.js'

/** Flags every bench script takes. */
export interface BenchArgs {
  /** Seconds per measured workload. */
  duration: number
  /** Seconds of warm-up before each measured run. */
  warmup: number
  /** Connections of the load generator (undefined: each workload's own default). */
  connections: number | undefined
  /** Which code of the mock runs (--source: src/ through tsx; --fresh: src/ compiled to a cache folder; else dist/). */
  entry: Entry
  /** 2 s per workload, fewer repetitions: checks that the scripts still run (CI). */
  quick: boolean
  /** Script-specific flags, as given. */
  extra: Record<string, string | boolean | undefined>
}

/** Reads the common flags plus a script's own string options; with --fresh, builds src/ first. */
export function benchArgs (argv: readonly string[], own: readonly string[] = []): BenchArgs {
  const options: Record<string, { type: 'string' | 'boolean' }> = {
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    source: { type: 'boolean' },
    fresh: { type: 'boolean' },
    quick: { type: 'boolean' }
  }
  for (const name of own) options[name] = { type: 'string' }
  const { values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
  const quick = values.quick === true
  // bench/run-all.ts builds once for every script it runs.
  if (values.fresh === true && process.env.BENCH_FRESH_BUILT !== '1') freshBuild()
  const number = (value: unknown, fallback: number): number => {
    if (value === undefined) return fallback
    const parsed = Number(value)
    if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`not a number: ${String(value)}`)
    return parsed
  }
  return {
    duration: number(values.duration, quick ? 2 : 10),
    warmup: number(values.warmup, quick ? 0.5 : 2),
    connections: values.connections === undefined ? undefined : number(values.connections, 10),
    entry: entryFrom({ source: values.source === true, fresh: values.fresh === true }),
    quick,
    extra: values as Record<string, string | boolean | undefined>
  }
}

/** The command line that reproduces this run, for the output. */
export function commandLine (): string {
  return ['node --import tsx', ...process.argv.slice(1).map((arg) => arg.replace(process.cwd() + '/', ''))].join(' ')
}
