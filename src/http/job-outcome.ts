import { apiError, excerpt } from '../errors.js'

/**
 * `X-Mock-Job-Outcome: failed[@stage]`: the stage at which a job is to fail
 * (`fallback` when none is named), or undefined without the header. Bulk and
 * import jobs and exports each pass their own stages and the message that
 * lists them.
 */
export function outcomeStage<S extends string> (header: string | string[] | undefined, stages: readonly S[], fallback: S, message: string): S | undefined {
  if (header === undefined) return undefined
  const match = /^failed(?:@([a-z_]+))?$/.exec(String(header).trim().toLowerCase())
  const stage = match?.[1] ?? fallback
  if (match === null || !(stages as readonly string[]).includes(stage)) {
    throw apiError(400, 'invalid_outcome_header', message, `x-mock-job-outcome ${excerpt(String(header), 40)}`)
  }
  return stage as S
}
