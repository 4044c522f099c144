import { parseArgs } from 'node:util'

/** A command-line problem: the script prints it with its usage and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** How the server under test is started. */
export interface ServerCommand {
  args: string[]
  /** What the summary prints: `dist` or `source`. */
  entry: 'dist' | 'source'
}

/**
 * The server's command line: the build as users run it when it exists, or the
 * TypeScript source through tsx (`--source`, or no build yet).
 */
export function serverCommand (root: string, options: { source: boolean, distExists: boolean }): ServerCommand {
  if (options.source || !options.distExists) return { args: ['--import', 'tsx', `${root}/src/server.ts`], entry: 'source' }
  return { args: [`${root}/dist/bundle/server.js`], entry: 'dist' }
}

/** A whole number in [min, max] from a flag or variable; anything else is a usage error naming it. */
export function integerOption (name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback
  if (!/^\s*\d+\s*$/.test(value)) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`)
  const number = Number(value)
  if (number < min || number > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${number}`)
  return number
}

/** Settings of `npm run soak`. */
export interface SoakOptions {
  /** Seconds of traffic in all, warm-up included. */
  duration: number
  /** Seconds before the reference RSS is taken. */
  warmup: number
  /** Concurrent keep-alive clients. */
  clients: number
  /** Distinct API keys the clients spread over. */
  keys: number
  /** User ids per key the bulk rows are drawn from (companies: a quarter of it), so the store plateaus. */
  pool: number
  /** Failing RSS growth from warm-up to end, in percent. */
  maxGrowth: number
  /** Milliseconds per job stage (MOCK_STAGE_MS of the server). */
  stageMs: number
  /**
   * MOCK_JOB_RETENTION of the server. Every bound must be full when warm-up
   * ends, so that growth after it means a leak, not a store still filling:
   * at about 50 jobs/s over 4 keys the default 1000 fills only after ~80 s,
   * 100 within the first 10 s.
   */
  jobRetention: number
  seed: number
  source: boolean
  help: boolean
}

/** Reads the soak flags; `SOAK_DURATION` / `SOAK_WARMUP` fill in what the flags leave out. */
export function parseSoakOptions (argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SoakOptions {
  const values = parseFlags(argv, ['duration', 'warmup', 'clients', 'keys', 'pool', 'max-growth', 'stage-ms', 'job-retention', 'seed'])
  const duration = integerOption('--duration', values.duration ?? env.SOAK_DURATION, 300, 1, 86_400)
  const warmup = integerOption('--warmup', values.warmup ?? env.SOAK_WARMUP, Math.min(30, Math.floor(duration / 2)), 0, 86_400)
  if (warmup >= duration) throw new UsageError(`--warmup (${warmup} s) must be shorter than --duration (${duration} s)`)
  return {
    duration,
    warmup,
    clients: integerOption('--clients', values.clients, 8, 1, 256),
    keys: integerOption('--keys', values.keys, 4, 1, 1000),
    pool: integerOption('--pool', values.pool, 5000, 4, 1_000_000),
    maxGrowth: integerOption('--max-growth', values['max-growth'], 10, 0, 1000),
    stageMs: integerOption('--stage-ms', values['stage-ms'], 5, 0, 10_000),
    jobRetention: integerOption('--job-retention', values['job-retention'], 100, 0, 1_000_000),
    seed: integerOption('--seed', values.seed, 1, 0, 2 ** 31 - 1),
    source: values.source,
    help: values.help
  }
}

/** Settings of `npm run shutdown-check`. */
export interface ShutdownOptions {
  /** Requests held in the server by a queued fault delay when SIGTERM is sent. */
  delayed: number
  /** 10,000-row bulk requests whose bodies are sent after SIGTERM (headers already parsed). */
  bulk: number
  /** Rows in each of those bulk requests. */
  rows: number
  /** The fault delay, in milliseconds. */
  delayMs: number
  /** Most milliseconds from SIGTERM to the exit. */
  deadlineMs: number
  /** Most milliseconds from the last in-flight answer to the exit. */
  lingerMs: number
  source: boolean
  help: boolean
}

/** Reads the shutdown-check flags. */
export function parseShutdownOptions (argv: readonly string[]): ShutdownOptions {
  const values = parseFlags(argv, ['delayed', 'bulk', 'rows', 'delay-ms', 'deadline-ms', 'linger-ms'])
  return {
    delayed: integerOption('--delayed', values.delayed, 40, 0, 1000),
    bulk: integerOption('--bulk', values.bulk, 10, 0, 1000),
    rows: integerOption('--rows', values.rows, 10_000, 1, 10_000),
    delayMs: integerOption('--delay-ms', values['delay-ms'], 1500, 1, 60_000),
    deadlineMs: integerOption('--deadline-ms', values['deadline-ms'], 10_000, 1, 600_000),
    lingerMs: integerOption('--linger-ms', values['linger-ms'], 2000, 0, 600_000),
    source: values.source,
    help: values.help
  }
}

/** The value flags as strings, and the two switches every script has. */
type Flags = Record<string, string | undefined> & { source: boolean, help: boolean }

function parseFlags (argv: readonly string[], names: readonly string[]): Flags {
  const options: Record<string, { type: 'string' | 'boolean' }> = { source: { type: 'boolean' }, help: { type: 'boolean' } }
  for (const name of names) options[name] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] as string)
  }
  return { ...values, source: values.source === true, help: values.help === true } as Flags
}
