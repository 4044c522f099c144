import { pino, type DestinationStream } from 'pino'

/** Lines are written once this many bytes are waiting… */
export const LOG_BUFFER_BYTES = 4096
/** …or this long after they were logged, whichever comes first. */
export const LOG_FLUSH_MS = 100

/** The one call the destination needs from a timer source (tests pass their own). */
export type Every = (callback: () => void, ms: number) => { unref: () => unknown }

/** An asynchronous pino destination that buffers, plus a way to flush it now. */
export interface BufferedDestination {
  stream: DestinationStream
  /** Writes whatever is waiting (what the timer calls). */
  flush: () => void
}

/**
 * Log lines off a TTY, buffered: a busy server makes one write call per 4 KB
 * of lines (about 20 requests) rather than one per request, which took 5–8 %
 * of the time of a small request. A quiet one still shows each line within
 * 100 ms; pino writes what is left when the process exits (pino's
 * "asynchronous logging", docs/asynchronous.md).
 */
export function bufferedDestination (dest: number | string, every: Every = setInterval): BufferedDestination {
  const stream = pino.destination({ dest, sync: false, minLength: LOG_BUFFER_BYTES })
  const flush = (): void => {
    // Ended when the process exits (sonic-boom's type leaves `destroyed` out).
    if (!(stream as unknown as { destroyed: boolean }).destroyed) stream.flush()
  }
  // Never keeps the process alive by itself.
  every(flush, LOG_FLUSH_MS).unref()
  return { stream, flush }
}

let stdout: BufferedDestination | undefined

/** The process's standard output as a {@link bufferedDestination}, made once however many servers start. */
export function bufferedStdout (): DestinationStream {
  stdout ??= bufferedDestination(1)
  return stdout.stream
}
