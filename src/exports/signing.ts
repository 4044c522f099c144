import { createHmac, timingSafeEqual } from 'node:crypto'

/** How long a download link works after its file was written (SPEC 1.14: two days). */
export const LINK_TTL_MS = 2 * 24 * 3600 * 1000

/** What a link names: the file and until when it may be fetched. */
export interface LinkParts { tenant: string, jobId: string, filename: string, expires: number }

/** The link's signature: an HMAC over everything it names, so no part can be changed. */
export function signLink (key: string, parts: LinkParts): string {
  return createHmac('sha256', key).update(`${parts.tenant}\n${parts.jobId}\n${parts.filename}\n${parts.expires}`).digest('hex')
}

/** Whether a signature is the link's own (compared in constant time). */
export function linkSigned (key: string, parts: LinkParts, signature: string): boolean {
  const expected = Buffer.from(signLink(key, parts), 'hex')
  const given = Buffer.from(signature, 'hex')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
