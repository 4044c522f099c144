import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import type { Fault, FaultInput, JournalEntry, MockCompany, MockDeletion, MockEvent, MockJob, MockUser } from '../schemas/control.js'
import type { ExportStatus, MockExport } from '../schemas/exports.js'
import type { ContentItem, ContentLookup } from '../schemas/lookups.js'
import type { EventType } from '../schemas/events.js'
import type { JobStatus } from '../schemas/jobs.js'
import { buildApp } from './app.js'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { Stage } from './jobs/lifecycle.js'
import { isolateMock, type IsolatedMock, type IsolateOptions } from './isolation.js'
import { loopback, urlOf } from './loopback.js'
import { controlAccessors } from './control-calls.js'

export { MockControlError } from './control-calls.js'

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

/** Which events `events()` returns: every given field must equal. */
export interface EventQuery { userId?: string, companyId?: string, eventType?: EventType, eventName?: string }

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
  /** The request journal of one key (every key's without one), newest first; `warnings` keeps only those that strayed from the docs. */
  requests(key?: string, filter?: { warnings?: boolean }): Promise<JournalEntry[]>
  /** Events kept from identify, company identify and track calls, newest first. */
  events(key: string, filter?: EventQuery): Promise<MockEvent[]>
  /** Deletions waiting for 02:00 UTC (or `flush`), soonest first. */
  deletions(key: string): Promise<MockDeletion[]>
  advance(key: string, jobId: string, to?: JobStatus): Promise<MockJob>
  fail(key: string, jobId: string, at?: Stage): Promise<MockJob>
  /** Runs every pending job (of one key, or all) to its end and carries out every scheduled deletion; returns how many jobs. */
  flush(key?: string): Promise<number>
  addFault(key: string, rule: FaultRuleInput | FaultRuleInput[]): Promise<Fault[]>
  clearFaults(key?: string): Promise<void>
  /** Export jobs (of one key, or every key's), newest first, each file with its presigned link. */
  exports(key?: string): Promise<MockExport[]>
  /** Moves an export one step (pending → processing, or one more file), or until `to`. */
  advanceExport(key: string, jobId: string, to?: ExportStatus): Promise<MockExport>
  failExport(key: string, jobId: string): Promise<MockExport>
  /** Sets what a content lookup (segments, flows, banners, …) answers for this key. */
  setLookup(key: string, name: ContentLookup, items: ContentItem[]): Promise<void>
}

/**
 * Starts the mock in this process and listens (on a free port unless told).
 * Every accessor goes through the control API over the mock's own socket
 * (loopback.ts says why not `inject`), so the library and HTTP users see
 * exactly the same thing.
 */
export async function startMock (options: StartMockOptions = {}): Promise<MockServer> {
  const app = await buildApp({ config: options.config ?? {}, clock: options.clock, logger: options.logger ?? false })
  const host = options.host ?? '127.0.0.1'
  await app.listen({ port: options.port ?? 0, host })
  const { port } = app.server.address() as { port: number }
  const accessors = controlAccessors(loopback(app), app.mock.config.MOCK_ADMIN_TOKEN)
  const mock: MockServer = {
    url: urlOf(host, port),
    port,
    app,
    close: async () => { await app.close() },
    isolate: (options) => isolateMock(mock, options, app.mock.keys.open),
    ...accessors
  }
  return mock
}
