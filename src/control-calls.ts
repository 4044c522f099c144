import type { Fault, MockJob, MockUser } from '../schemas/control.js'
import type { ErrorEnvelope } from '../schemas/errors.js'
import type { MockAccessors } from './isolation.js'

/** A control call that failed, with the mock's error envelope. */
export class MockControlError extends Error {
  override name = 'MockControlError'
  constructor (readonly statusCode: number, readonly body: ErrorEnvelope) {
    super(`${statusCode}: ${body.errors.map((entry) => entry.message).join(' ')}`)
  }
}

/** One HTTP exchange with the control API: the answer's status and body text. */
export type ControlSend = (request: { method: string, path: string, headers: Record<string, string>, payload?: unknown }) => Promise<{ status: number, text: string }>

const PAGE = 1000

/** `path` with `query` added to its query string. */
function withQuery (path: string, query: string): string {
  return `${path}${path.includes('?') ? '&' : '?'}${query}`
}

/** The envelope of an error answer; a body that is not one (a proxy's page, say) is wrapped in one. */
function envelopeOf (status: number, text: string): ErrorEnvelope {
  try {
    const body = JSON.parse(text) as ErrorEnvelope
    if (Array.isArray(body.errors)) return body
  } catch {
    // Not JSON: wrapped below.
  }
  return { errors: [{ error: 'http_error', error_code: `http_${status}`, message: text.slice(0, 500), details: 'the answer was not an error envelope' }] }
}

/**
 * The typed calls of the control API over any transport: `startMock` sends
 * them over the mock's own socket, `connectMock` with fetch. A call without a
 * key spans every key (`?all=1`); a list is read a page of 1000 at a time.
 */
export function controlAccessors (send: ControlSend, adminToken: string | undefined): MockAccessors {
  async function call<T> (method: string, path: string, key: string | undefined, payload?: unknown): Promise<T> {
    const headers: Record<string, string> = {}
    if (key !== undefined) headers.authorization = `Token ${key}`
    if (adminToken !== undefined) headers['x-mock-admin'] = adminToken
    const scoped = key === undefined ? withQuery(path, 'all=1') : path
    const { status, text } = await send({ method, path: scoped, headers, payload })
    if (status >= 400) throw new MockControlError(status, envelopeOf(status, text))
    return (status === 204 ? undefined : JSON.parse(text)) as T
  }

  async function all<T> (path: string, key: string | undefined): Promise<T[]> {
    const items: T[] = []
    let page: T[]
    do {
      page = await call<T[]>('GET', withQuery(path, `limit=${PAGE}&offset=${items.length}`), key)
      items.push(...page)
    } while (page.length === PAGE)
    return items
  }

  async function optional<T> (request: Promise<T>): Promise<T | undefined> {
    try {
      return await request
    } catch (error) {
      if (error instanceof MockControlError && error.statusCode === 404) return undefined
      throw error
    }
  }

  const encode = encodeURIComponent
  return {
    reset: async (key) => { await call('POST', '/__mock/reset', key) },
    users: async (key, filter = {}) => await all(filter.companyId === undefined ? '/__mock/users' : `/__mock/users?company_id=${encode(filter.companyId)}`, key),
    user: async (key, userId) => await optional(call<MockUser>('GET', `/__mock/users/${encode(userId)}`, key)),
    companies: async (key) => await all('/__mock/companies', key),
    jobs: async (key) => await all('/__mock/jobs', key),
    job: async (key, jobId) => await optional(call<MockJob>('GET', `/__mock/jobs/${encode(jobId)}`, key)),
    requests: async (key, filter = {}) => await all(filter.warnings === true ? '/__mock/requests?warnings=true' : '/__mock/requests', key),
    events: async (key, filter = {}) => {
      const query = new URLSearchParams()
      if (filter.userId !== undefined) query.set('user_id', filter.userId)
      if (filter.companyId !== undefined) query.set('company_id', filter.companyId)
      if (filter.eventType !== undefined) query.set('event_type', filter.eventType)
      if (filter.eventName !== undefined) query.set('event_name', filter.eventName)
      const search = query.toString()
      return await all(search === '' ? '/__mock/events' : `/__mock/events?${search}`, key)
    },
    deletions: async (key) => await all('/__mock/deletions', key),
    advance: async (key, jobId, to) => await call('POST', `/__mock/jobs/${encode(jobId)}/advance`, key, to === undefined ? {} : { to }),
    fail: async (key, jobId, at) => await call('POST', `/__mock/jobs/${encode(jobId)}/fail`, key, at === undefined ? {} : { at }),
    flush: async (key) => (await call<{ finished: number }>('POST', '/__mock/clock/flush', key)).finished,
    addFault: async (key, rule) => {
      const added: Fault[] = []
      for (const one of Array.isArray(rule) ? rule : [rule]) added.push(...(await call<{ faults: Fault[] }>('POST', '/__mock/faults', key, one)).faults)
      return added
    },
    clearFaults: async (key) => { await call('DELETE', '/__mock/faults', key) },
    exports: async (key) => await all('/__mock/exports', key),
    advanceExport: async (key, jobId, to) => await call('POST', `/__mock/exports/${encode(jobId)}/advance`, key, to === undefined ? {} : { to }),
    failExport: async (key, jobId) => await call('POST', `/__mock/exports/${encode(jobId)}/fail`, key, {}),
    setLookup: async (key, name, items) => { await call('PUT', `/__mock/lookups/${encode(name)}`, key, items) }
  }
}
