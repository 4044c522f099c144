/** W5's requests: real-time identify as Userpilot's clients send it (tested in test/bench/realtime-load.test.ts). */
import { API_VERSION } from '../../schemas/realtime.js'
import type { LoadRequest } from './load.js'

/** Users of a key share this many companies, so that identifies also move users into existing companies. */
export const COMPANIES_PER_KEY = 8

/** The three headers every real client sends on `POST /v1/identify`. */
export function realtimeHeaders (key: string): Record<string, string> {
  return { authorization: `Token ${key}`, 'content-type': 'application/json', 'x-api-version': API_VERSION }
}

/**
 * The identify body of user `index`: five flat metadata properties and its
 * company. The two variants differ in three values, so that every later
 * identify of a user changes the stored profile instead of rewriting it as it was.
 */
export function identifyBody (index: number, variant: 0 | 1): string {
  const company = index % COMPANIES_PER_KEY
  return JSON.stringify({
    user_id: `user_${index}`,
    metadata: {
      name: `User Number ${index}`,
      email: `user.${index}@techstartup.example.com`,
      plan: variant === 0 ? 'free' : 'pro',
      logins: (index % 50) + variant,
      last_seen_at: variant === 0 ? '2026-01-01T09:00:00Z' : '2026-01-02T17:30:00Z'
    },
    company: { id: `comp_${company}`, name: `Company ${company}` }
  })
}

/**
 * `POST /v1/identify` for every user of every key, all users in variant 0,
 * then all in variant 1: a profile is created on its first identify and
 * updated on each later one. Keys rotate fastest, so consecutive requests
 * go to different keys.
 */
export function identifyRequests (keys: readonly string[], usersPerKey: number): LoadRequest[] {
  const requests: LoadRequest[] = []
  for (const variant of [0, 1] as const) {
    for (let index = 0; index < usersPerKey; index++) {
      const body = identifyBody(index, variant)
      for (const key of keys) requests.push({ method: 'POST', path: '/v1/identify', headers: realtimeHeaders(key), body })
    }
  }
  return requests
}

/** Mean body bytes of a set of requests (0 for none, or for GETs). */
export function meanBodyBytes (requests: readonly LoadRequest[]): number {
  if (requests.length === 0) return 0
  return Math.round(requests.reduce((sum, request) => sum + (request.body?.length ?? 0), 0) / requests.length)
}
