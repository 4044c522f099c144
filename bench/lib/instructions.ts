/** Reading cachegrind's count of instructions (bench/instructions.ts). */

/**
 * The total of a run from cachegrind's summary on stderr (`==123== I   refs:  6,146,179,422`;
 * newer valgrind prints `I refs:`), or undefined when there is none (the run failed).
 */
export function instructionsOf (stderr: string): number | undefined {
  const match = /==\d+==\s+I\s+refs:\s+([\d,]+)/.exec(stderr)
  return match === null ? undefined : Number((match[1] as string).replace(/,/g, ''))
}

/**
 * Instructions per request from two runs that differ only in how many requests
 * they make: what start-up, warm-up and exit cost is the same in both and cancels.
 */
export function perRequest (fewer: { requests: number, instructions: number }, more: { requests: number, instructions: number }): number {
  const extra = more.requests - fewer.requests
  if (extra <= 0) throw new Error(`the second run must make more requests than the first (${fewer.requests} and ${more.requests})`)
  return (more.instructions - fewer.instructions) / extra
}
