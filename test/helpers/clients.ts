import type { Test } from 'tap'
import type { JournalEntry, WarningCode } from '../../schemas/control.js'
import { API_VERSION } from '../../schemas/realtime.js'
import { tenantOf } from '../../src/tenant.js'

/** What a client is expected to have sent, as the journal keeps it. */
export interface SentCall {
  method: 'GET' | 'POST' | 'DELETE'
  path: string
  status: number
  /** The JSON body; null for none. */
  body: unknown
  /** Fidelity warnings expected, as [code, path]; default none. */
  warnings?: Array<[WarningCode, string | undefined]>
}

/**
 * Asserts one journal entry of a real client's call with `key`: what it sent
 * (method, path, JSON body), the answer's status, the three headers every real
 * client sends (`Authorization: Token <key>`, `Content-Type: application/json`,
 * `X-API-Version`), and its warnings.
 */
export function expectSent (t: Test, entry: JournalEntry | undefined, key: string, expected: SentCall): void {
  if (entry === undefined) {
    t.fail(`no journal entry for ${expected.method} ${expected.path}`)
    return
  }
  const keyId = tenantOf(key).envId
  t.same({ method: entry.method, path: entry.path, status: entry.status }, { method: expected.method, path: expected.path, status: expected.status }, `${expected.method} ${expected.path} → ${expected.status}`)
  t.same(entry.body === null ? null : JSON.parse(entry.body), expected.body, 'the body sent')
  t.equal(entry.key_id, keyId, 'sent with the key')
  // The journal masks the key itself and shows its id: the scheme and the key are still checked.
  t.equal(entry.headers.authorization, `Token *** (${keyId})`, 'Authorization: Token <key>')
  t.equal(entry.headers['content-type'], 'application/json', 'Content-Type: application/json')
  t.equal(entry.headers['x-api-version'], API_VERSION, `X-API-Version: ${API_VERSION}`)
  t.same(entry.warnings.map((warning) => [warning.code, warning.path]), expected.warnings ?? [], 'its warnings')
}
