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
  /** Headers the answer carries (a 429's Retry-After). */
  readonly headers: Readonly<Record<string, string>>

  constructor (statusCode: number, entries: ErrorEntry[], headers: Readonly<Record<string, string>> = {}) {
    super((entries[0] as ErrorEntry).message)
    this.name = 'ApiError'
    this.statusCode = statusCode
    this.entries = entries
    this.headers = headers
  }
}

/** An {@link ApiError} with a single entry. */
export function apiError (statusCode: number, errorCode: string, message: string, details: string, headers?: Readonly<Record<string, string>>): ApiError {
  return new ApiError(statusCode, [{ error: labelFor(statusCode), error_code: errorCode, message, details }], headers)
}

/** The envelope for a status with one entry. */
export function envelope (statusCode: number, errorCode: string, message: string, details: string): ErrorEnvelope {
  return { errors: [{ error: labelFor(statusCode), error_code: errorCode, message, details }] }
}

/**
 * Characters that would be invisible, reorder the text around them, or drive a
 * terminal when a message is shown: C0 and C1 controls, bidi marks and
 * overrides, line separators, and unpaired surrogates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** Client text made inert for a message: every unsafe character written as a `\uXXXX` escape. */
export function escapeText (value: string): string {
  return value.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** The first `max` UTF-16 units of a text, one fewer rather than half a surrogate pair; null when it is short enough. */
export function cutText (value: string, max: number): string | null {
  if (value.length <= max) return null
  const end = /[\ud800-\udbff]/.test(value.charAt(max - 1)) ? max - 1 : max
  return value.slice(0, end)
}

/**
 * A short, escaped excerpt of client input for an error message: quoted as a
 * JSON string, with every unsafe character escaped, cut at `max` characters.
 */
export function excerpt (value: string, max = 64): string {
  const cut = cutText(value, max)
  const quoted = escapeText(JSON.stringify(cut ?? value))
  return cut === null ? quoted : `${quoted.slice(0, -1)}…"`
}

/** Client text for a message without quotes: escaped, and cut at `max` with a mark. */
export function shortText (value: string, max: number): string {
  const cut = cutText(value, max)
  return escapeText(cut === null ? value : `${cut}…`)
}
