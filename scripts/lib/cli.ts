import { UsageError } from './options.js'

/**
 * Reads a script's flags, or ends the process: the usage on `--help` (exit 0),
 * the problem and the usage on a bad flag (exit 2).
 */
export function readFlagsOrExit<T extends { help: boolean }> (name: string, usage: string, parse: () => T): T {
  let options: T
  try {
    options = parse()
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${name}: ${error.message}\n${usage}`)
    process.exit(2)
  }
  if (options.help) {
    process.stdout.write(usage)
    process.exit(0)
  }
  return options
}

/** A hard bound whatever happens (start-up, a hung request): after `ms` the script fails; its exit handler then stops the server. */
export function failAfter (name: string, ms: number, what: string): void {
  setTimeout(() => {
    console.log(`${name}: FAIL: did not finish within ${what}`)
    process.exit(1)
  }, ms).unref()
}
