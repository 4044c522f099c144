import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { SystemClock, type Clock } from './clock.js'
import { parseConfig, type Config } from './config.js'
import { requireApiKey } from './http/auth.js'
import { requireControlAccess } from './http/control-auth.js'
import { faultHook } from './http/faults.js'
import { journalHook, journalWriter } from './http/journal.js'
import { bodyParser } from './http/body-parser.js'
import { drainOnClose } from './http/drain-on-close.js'
import { clientErrorHandler, errorHandler, frameworkErrors, routeNotFound } from './http/error-handler.js'
import { requestContext, requestId } from './http/request-context.js'
import { serializerCompiler } from './http/serialization.js'
import { validatorCompiler } from './http/validation.js'
import { JobRunner } from './jobs/job-runner.js'
import { leasesOf } from './jobs/lease.js'
import { fidelityHook } from './http/fidelity.js'
import { rateLimitHook } from './http/rate-limit.js'
import { DeletionScheduler } from './realtime/deletions.js'
import { mockState } from './plugins/mock-state.js'
import { openapi } from './plugins/openapi.js'
import { backgroundJobs } from './routes/background-jobs.js'
import { bulkIdentify } from './routes/bulk-identify.js'
import { imports } from './routes/imports.js'
import { deletions } from './routes/deletions.js'
import { realtime } from './routes/realtime.js'
import { validate } from './routes/validate.js'
import { lookups } from './routes/lookups.js'
import { exportFiles, exportsApi as exportJobs } from './routes/exports.js'
import { ExportRunner } from './exports/export-runner.js'
import { controlEvents } from './routes/control/events.js'
import { controlExports } from './routes/control/exports.js'
import { controlLookups } from './routes/control/lookups.js'
import { controlFaults } from './routes/control/faults.js'
import { controlJobs } from './routes/control/jobs.js'
import { controlState } from './routes/control/state.js'
import { controlUi } from './routes/control/ui.js'
import { mockHealth } from './routes/mock-health.js'
import { createStore } from './store/create-store.js'
import type { MockStore } from './store/store.js'
import { KeyRing, parseKeyList } from './tenant.js'

export interface BuildAppOptions {
  /** Settings by their environment names, typed or as strings; the rest take their defaults. */
  config?: Partial<Config> | Readonly<Record<string, unknown>>
  /** Time source; default: the system clock. Tests pass a ManualClock to drive job timers themselves. */
  clock?: Clock
  /** State backend; default: the in-memory store. */
  store?: MockStore
  /** pino options (or false); default: JSON logs at LOG_LEVEL. */
  logger?: FastifyServerOptions['logger']
  /** Connection timeouts; default {@link DEFAULT_TIMEOUTS}. */
  timeouts?: Partial<Timeouts>
}

/** How long a client may take, so that slow or stalled clients cannot hold the server. */
export interface Timeouts {
  /** From connection (or the previous response) to the end of the request headers. */
  headersMs: number
  /** From connection to the end of the whole request, body included. */
  requestMs: number
  /** How long an idle keep-alive connection stays open between requests. */
  keepAliveMs: number
  /** A socket with no traffic at all for this long is closed. */
  idleMs: number
}

/**
 * Node's own defaults leave a slow-headers client 60 s and Fastify turns the
 * request timeout off; a 50 MB upload on a local network takes seconds, so
 * two minutes still leaves slow CI machines room.
 */
export const DEFAULT_TIMEOUTS: Timeouts = { headersMs: 10_000, requestMs: 120_000, keepAliveMs: 5_000, idleMs: 60_000 }

/** The Authorization header (and the admin token) never reach a log line. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-mock-admin"]', 'headers.authorization']

/** Fastify's types describe its Ajv-based defaults; ours take the same route definition. */
const COMPILERS = {
  buildValidator: () => validatorCompiler,
  buildSerializer: () => serializerCompiler
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

/**
 * Builds the mock as a Fastify instance, ready for `inject()` or `listen()`.
 * The only place that wires plugins and routes together.
 */
export async function buildApp (options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = parseConfig(options.config ?? {})
  const clock = options.clock ?? new SystemClock()
  const store = options.store ?? await createStore(config)
  const keys = new KeyRing(parseKeyList(config.MOCK_API_KEYS))
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts }

  const app = Fastify({
    logger: options.logger ?? { level: config.LOG_LEVEL, redact: REDACTED_PATHS },
    bodyLimit: config.MOCK_BODY_LIMIT,
    genReqId: requestId,
    requestIdHeader: false,
    // Fastify's two lines per request are replaced by one (request-context.ts).
    logController: new LogController({ disableRequestLogging: true }),
    // Requests that arrive on open connections while closing are still answered, in the envelope.
    return503OnClosing: false,
    // Job ids up to JobIdParams' maxLength reach the route (Fastify's default is 100 characters).
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors,
    clientErrorHandler,
    // Our own compilers as factories: Fastify then never loads its Ajv-based
    // defaults, which this app would not use (start-up time).
    schemaController: { compilersFactory: COMPILERS },
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    connectionTimeout: timeouts.idleMs,
    // Node checks the header and request deadlines only this often (30 s by default);
    // a missing Host is refused by requestContext, in the envelope, not by Node's bare 400.
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: Math.min(1000, timeouts.headersMs), requireHostHeader: false }
  }).withTypeProvider<TypeBoxTypeProvider>()

  const runner = new JobRunner({
    store,
    clock,
    timing: { stageMs: config.MOCK_STAGE_MS, rowsPerMin: config.MOCK_ROWS_PER_MIN },
    autoAdvance: config.MOCK_CLOCK === 'auto',
    onError: (error, job) => app.log.error({ err: error, jobId: job.jobId }, 'job step failed; retrying')
  })

  const exportRunner = new ExportRunner({
    store,
    clock,
    stageMs: config.MOCK_STAGE_MS,
    chunkEvents: config.MOCK_EXPORT_CHUNK_EVENTS,
    autoAdvance: config.MOCK_CLOCK === 'auto',
    onError: (error, job) => app.log.error({ err: error, jobId: job.jobId }, 'export step failed; retrying')
  })

  const scheduler = new DeletionScheduler({
    profiles: store.profiles,
    clock,
    autoAdvance: config.MOCK_CLOCK === 'auto',
    shared: leasesOf(store) !== undefined,
    onError: (error) => app.log.error({ err: error }, 'scheduled deletions failed; they run again at the next 02:00 UTC or flush')
  })

  await app.register(openapi)
  await app.register(mockState, { config, clock, store, runner, exportRunner, deletions: scheduler, keys, startedAt: clock.now() })
  await app.register(errorHandler, { bodyLimit: config.MOCK_BODY_LIMIT })
  await app.register(requestContext)
  await app.register(drainOnClose)
  await app.register(bodyParser)

  const journal = journalWriter(app.mock)
  /** What every emulated Userpilot route goes through: the key, queued faults, rate limits, fidelity, the journal. */
  const userpilotHooks = (scope: FastifyInstance): void => {
    scope.addHook('onRequest', requireApiKey(keys))
    scope.addHook('onRequest', faultHook(store, journal))
    if (config.MOCK_RATE_LIMITS === 'docs') scope.addHook('onRequest', rateLimitHook(store.rates, clock))
    scope.addHook('preHandler', fidelityHook(config.MOCK_STRICT === 'true'))
    scope.addHook('onResponse', journalHook(journal))
    scope.setNotFoundHandler(routeNotFound)
  }

  await app.register(async (userpilot) => {
    userpilotHooks(userpilot)
    await userpilot.register(bulkIdentify)
    await userpilot.register(imports)
    await userpilot.register(backgroundJobs)
    await userpilot.register(realtime)
    await userpilot.register(deletions)
    await userpilot.register(validate)
  }, { prefix: '/v1' })

  // The Export API lives on another host (appex) in the real service; here on the same origin.
  await app.register(async (exportsApi) => {
    userpilotHooks(exportsApi)
    await exportsApi.register(exportJobs)
    await exportsApi.register(lookups)
  }, { prefix: '/api/v1/analytics/exports' })
  // Presigned links carry their own permission, no key.
  await app.register(exportFiles, { prefix: '/api/v1/analytics/exports' })

  await app.register(async (control) => {
    await control.register(mockHealth)
    await control.register(controlUi)
    await control.register(async (scoped) => {
      scoped.addHook('onRequest', requireControlAccess(keys, config.MOCK_ADMIN_TOKEN))
      await scoped.register(controlState)
      await scoped.register(controlJobs)
      await scoped.register(controlFaults)
      await scoped.register(controlEvents)
      await scoped.register(controlExports)
      await scoped.register(controlLookups)
    })
  }, { prefix: '/__mock' })

  if (keys.open) app.log.warn('MOCK_API_KEYS is empty: any non-empty API key is accepted')
  await scheduler.start()
  return app
}
