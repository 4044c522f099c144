import type { FastifyInstance, FastifyServerOptions, InjectOptions } from 'fastify'
import type { Fault, FaultInput, JournalEntry, MockCompany, MockJob, MockUser } from '../schemas/control.js'
import type { JobStatus } from '../schemas/jobs.js'
import type { ErrorEnvelope } from '../schemas/errors.js'
import { buildApp } from './app.js'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { Stage } from './jobs/lifecycle.js'
import { isolateMock, type IsolatedMock, type IsolateOptions } from './isolation.js'
import { loopback } from './loopback.js'

export interface StartMockOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number
  /** Interface to bind (default 127.0.0.1). */
  host?: string
  /** Any other setting, by its environment name. */
  config?: Partial<Config>
  /** Time source (a ManualClock lets a test drive job timers). */
  clock?: Clock
  /** pino options; default: no logs. */
  logger?: FastifyServerOptions['logger']
}

/** A fault rule as `addFault` takes it (`match` and `times` may be left out). */
export type FaultRuleInput = Partial<FaultInput>

/** A running mock, with typed access to what it remembers, per API key. */
export interface MockServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`: point the client under test here. */
  url: string
  port: number
  /** The Fastify instance (for `inject`). */
  app: FastifyInstance
  close(): Promise<void>
  /** A view for one test: a fresh random API key with every call below bound to it (isolation.ts). */
  isolate(options?: IsolateOptions): IsolatedMock
  /** Forgets one key's state, or every key's without one. */
  reset(key?: string): Promise<void>
  users(key: string, filter?: { companyId?: string }): Promise<MockUser[]>
  user(key: string, userId: string): Promise<MockUser | undefined>
  companies(key: string): Promise<MockCompany[]>
  jobs(key: string): Promise<MockJob[]>
  job(key: string, jobId: string): Promise<MockJob | undefined>
  /** The request journal of one key (every key's without one), newest first. */
  requests(key?: string): Promise<JournalEntry[]>
  advance(key: string, jobId: string, to?: JobStatus): Promise<MockJob>
  fail(key: string, jobId: string, at?: Stage): Promise<MockJob>
  /** Runs every pending job (of one key, or all) to its end; returns how many. */
  flush(key?: string): Promise<number>
  addFault(key: string, rule: FaultRuleInput | FaultRuleInput[]): Promise<Fault[]>
  clearFaults(key?: string): Promise<void>
}

/** A control call that failed, with the mock's error envelope. */
export class MockControlError extends Error {
  override name = 'MockControlError'
  constructor (readonly statusCode: number, readonly body: ErrorEnvelope) {
    super(`${statusCode}: ${body.errors.map((entry) => entry.message).join(' ')}`)
  }
}

const PAGE = 1000

/**
 * Starts the mock in this process and listens (on a free port unless told).
 * Every accessor goes through the control API over the mock's own socket
 * (loopback.ts says why not `inject`), so the library and HTTP users see
 * exactly the same thing.
 */
export async function startMock (options: StartMockOptions = {}): Promise<MockServer> {
  const app = await buildApp({ config: options.config ?? {}, clock: options.clock, logger: options.logger ?? false })
  const adminToken = app.mock.config.MOCK_ADMIN_TOKEN
  await app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  const host = options.host ?? '127.0.0.1'
  const send = loopback(app)

  async function call<T> (method: InjectOptions['method'], url: string, key: string | undefined, payload?: unknown): Promise<T> {
    const headers: Record<string, string> = {}
    if (key !== undefined) headers.authorization = `Token ${key}`
    if (adminToken !== undefined) headers['x-mock-admin'] = adminToken
    const scoped = key === undefined ? `${url}${url.includes('?') ? '&' : '?'}all=1` : url
    const res = await send({ method, url: scoped, headers, ...(payload === undefined ? {} : { payload: payload as object }) })
    if (res.statusCode >= 400) throw new MockControlError(res.statusCode, res.json<ErrorEnvelope>())
    return (res.statusCode === 204 ? undefined : res.json()) as T
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
  const mock: MockServer = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    app,
    close: async () => { await app.close() },
    isolate: (options) => isolateMock(mock, options, app.mock.keys.open),
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
  return mock
}
