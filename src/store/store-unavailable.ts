/**
 * The state backend cannot be reached (Redis down, restarting, or too slow):
 * the request is answered 503 with Retry-After, never a crash, and the mock
 * carries on once the backend is back.
 */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError'

  constructor (readonly reason: string) {
    super(`the state store is unavailable: ${reason}`)
  }
}
