import type { Fault, MockJob, MockUser } from '../schemas/control.js'
import type { ErrorEnvelope } from '../schemas/errors.js'
import { isolateMock, type IsolatedMock, type IsolateOptions, type MockAccessors } from './isolation.js'
import { MockControlError } from './mock.js'

/** How to reach a mock's control API. */
export interface ConnectMockOptions {
  /** The mock's MOCK_ADMIN_TOKEN, when it runs with one (sent as `X-Mock-Admin`). */
  adminToken?: string
}

/**
 * A mock reached over HTTP: the same typed calls as `startMock()` gives, for a
 * mock started elsewhere (a test runner's global setup, a child process, a container).
 */
export interface MockClient extends MockAccessors {
  /** Base URL of the mock, without a trailing slash. */
  readonly url: string
  /** A view for one test: a fresh random API key with every call bound to it (isolation.ts). */
  isolate(options?: IsolateOptions): IsolatedMock
}

const PAGE = 1000

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
 * The control API of the mock at `url`, over `fetch`. Nothing is sent until
 * a call is made; every call is one request (a list, one per page of 1000).
 */
export function connectMock (url: string, options: ConnectMockOptions = {}): MockClient {
  const base = url.replace(/\/+$/, '')

  async function call<T> (method: string, path: string, key: string | undefined, payload?: unknown): Promise<T> {
    const headers: Record<string, string> = {}
    if (key !== undefined) headers.authorization = `Token ${key}`
    if (options.adminToken !== undefined) headers['x-mock-admin'] = options.adminToken
    if (payload !== undefined) headers['content-type'] = 'application/json'
    const scoped = key === undefined ? `${path}${path.includes('?') ? '&' : '?'}all=1` : path
    const res = await fetch(`${base}${scoped}`, { method, headers, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) })
    const text = await res.text()
    if (res.status >= 400) throw new MockControlError(res.status, envelopeOf(res.status, text))
    return (res.status === 204 ? undefined : JSON.parse(text)) as T
  }

  async function all<T> (path: string, key: string | undefined): Promise<T[]> {
    const items: T[] = []
    let page: T[]
    do {
      page = await call<T[]>('GET', `${path}${path.includes('?') ? '&' : '?'}limit=${PAGE}&offset=${items.length}`, key)
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
  const client: MockClient = {
    url: base,
    isolate: (isolateOptions) => isolateMock(client, isolateOptions),
    reset: async (key) => { await call('POST', '/__mock/reset', key) },
    users: async (key, filter = {}) => await all(filter.companyId === undefined ? '/__mock/users' : `/__mock/users?company_id=${encode(filter.companyId)}`, key),
    user: async (key, userId) => await optional(call<MockUser>('GET', `/__mock/users/${encode(userId)}`, key)),
    companies: async (key) => await all('/__mock/companies', key),
    jobs: async (key) => await all('/__mock/jobs', key),
    job: async (key, jobId) => await optional(call<MockJob>('GET', `/__mock/jobs/${encode(jobId)}`, key)),
    requests: async (key) => await all('/__mock/requests', key),
    advance: async (key, jobId, to) => await call('POST', `/__mock/jobs/${encode(jobId)}/advance`, key, to === undefined ? {} : { to }),
    fail: async (key, jobId, at) => await call('POST', `/__mock/jobs/${encode(jobId)}/fail`, key, at === undefined ? {} : { at }),
    flush: async (key) => (await call<{ finished: number }>('POST', '/__mock/clock/flush', key)).finished,
    addFault: async (key, rule) => {
      const added: Fault[] = []
      for (const one of Array.isArray(rule) ? rule : [rule]) added.push(...(await call<{ faults: Fault[] }>('POST', '/__mock/faults', key, one)).faults)
      return added
    },
    clearFaults: async (key) => { await call('DELETE', '/__mock/faults', key) }
  }
  return client
}
