/** What became of one request that was in flight when SIGTERM was sent. */
export interface InFlightOutcome {
  kind: string
  /** Milliseconds from SIGTERM to the answer (or the failure). */
  ms: number
  /** The answer's status, when a complete answer arrived. */
  status?: number
  /** The error code when none did (ECONNRESET, socket hang up…). */
  error?: string
}

/** What a shutdown check observed. */
export interface ShutdownObservation {
  inFlight: InFlightOutcome[]
  /** A connection attempted after shutdown began: refused (error) or answered (status). */
  newConnection: { status?: number, error?: string }
  exit: { code: number | null, signal: string | null, ms: number }
  deadlineMs: number
  /**
   * Most milliseconds from the last in-flight answer to the exit. A server that
   * keeps answered keep-alive connections open until keepAliveTimeout passes
   * the 10 s bound as soon as a request in flight lasts a few seconds.
   */
  lingerMs: number
}

/** Milliseconds from the last in-flight answer (or SIGTERM, with none in flight) to the exit. */
export function lingerAfterLastAnswer (seen: Pick<ShutdownObservation, 'inFlight' | 'exit'>): number {
  return seen.exit.ms - Math.max(0, ...seen.inFlight.map((outcome) => outcome.ms))
}

/** Why the shutdown check fails; empty when the server shut down gracefully. */
export function shutdownFailures (seen: ShutdownObservation): string[] {
  const failures: string[] = []
  const unanswered = seen.inFlight.filter((outcome) => outcome.status === undefined)
  const serverErrors = seen.inFlight.filter((outcome) => outcome.status !== undefined && outcome.status >= 500)
  if (unanswered.length > 0) failures.push(`${unanswered.length} in-flight requests got no answer (${countBy(unanswered.map((o) => o.error ?? 'unknown'))})`)
  if (serverErrors.length > 0) failures.push(`${serverErrors.length} in-flight requests were answered 5xx (${countBy(serverErrors.map((o) => String(o.status)))})`)
  const { newConnection } = seen
  if (newConnection.error !== 'ECONNREFUSED' && newConnection.status !== 503) {
    failures.push(`a new connection after SIGTERM was ${newConnection.status === undefined ? `not refused but failed with ${newConnection.error ?? 'nothing'}` : `answered ${newConnection.status}`}, expected ECONNREFUSED (or a 503)`)
  }
  if (seen.exit.code !== 0) failures.push(`the server exited with ${seen.exit.code === null ? `signal ${seen.exit.signal ?? '?'}` : `code ${seen.exit.code}`}, expected 0`)
  if (seen.exit.ms > seen.deadlineMs) failures.push(`the server took ${(seen.exit.ms / 1000).toFixed(2)} s to exit, limit ${seen.deadlineMs / 1000} s`)
  const linger = lingerAfterLastAnswer(seen)
  if (linger > seen.lingerMs) failures.push(`the server exited ${(linger / 1000).toFixed(2)} s after the last in-flight answer, limit ${seen.lingerMs / 1000} s (answered keep-alive connections held open?)`)
  return failures
}

/** The summary line of a shutdown check. */
export function shutdownSummary (seen: ShutdownObservation): string {
  const answered = seen.inFlight.filter((outcome) => outcome.status !== undefined)
  const byKind = countBy(answered.map((outcome) => `${outcome.kind} ${outcome.status as number}`))
  const resets = seen.inFlight.length - answered.length
  const fresh = seen.newConnection.error ?? `answered ${seen.newConnection.status as number}`
  const exit = seen.exit.code === null ? `signal ${seen.exit.signal ?? '?'}` : `exit ${seen.exit.code}`
  return `shutdown-check: ${answered.length}/${seen.inFlight.length} in-flight answered (${byKind === '' ? 'none' : byKind}), ${resets} unanswered (reset or hang-up), new connection ${fresh}, ${exit} in ${(seen.exit.ms / 1000).toFixed(2)} s (${(lingerAfterLastAnswer(seen) / 1000).toFixed(2)} s after the last answer)`
}

/** `a: 2, b: 1` in first-seen order. */
export function countBy (values: readonly string[]): string {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  return [...counts].map(([value, count]) => `${value}: ${count}`).join(', ')
}
