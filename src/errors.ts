import type { ErrorEntry, ErrorEnvelope } from '../schemas/errors.js'

/** The `error` label for each status, as Userpilot's envelope uses it. */
const STATUS_LABELS: Readonly<Record<number, string>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout'
}

/** The `error` label of a status; unknown ones fall back by class. */
export function labelFor (status: number): string {
  return STATUS_LABELS[status] ?? (status >= 500 ? 'internal_error' : 'invalid_request')
}

/** An error that knows its status and its envelope entries; the root error handler sends it as is. */
export class ApiError extends Error {
  readonly statusCode: number
  readonly entries: ErrorEntry[]

  constructor (statusCode: number, entries: ErrorEntry[]) {
    super((entries[0] as ErrorEntry).message)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.entries = entries
  }
}

/** An {@link ApiError} with a single entry. */
export function apiError (statusCode: number, errorCode: string, message: string, details: string): ApiError {
  return new ApiError(statusCode, [{ error: labelFor(statusCode), error_code: errorCode, message, details }])
}

/** The envelope for a status with one entry. */
export function envelope (statusCode: number, errorCode: string, message: string, details: string): ErrorEnvelope {
  return { errors: [{ error: labelFor(statusCode), error_code: errorCode, message, details }] }
}

/**
 * A short, escaped excerpt of client input for an error message: JSON string
 * escaping makes control characters, NUL and lone surrogates visible and inert.
 */
export function excerpt (value: string, max = 64): string {
  const cut = value.length > max
  const quoted = JSON.stringify(cut ? value.slice(0, max) : value)
  return cut ? `${quoted.slice(0, -1)}…"` : quoted
}
