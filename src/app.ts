import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { SystemClock, type Clock } from './clock.js'
import { ConfigError, parseConfig, type Config } from './config.js'
import { requireApiKey } from './http/auth.js'
import { requireControlAccess } from './http/control-auth.js'
import { faultHook } from './http/faults.js'
import { journalHook } from './http/journal.js'
import { bodyParser } from './http/body-parser.js'
import { errorHandler, frameworkErrors } from './http/error-handler.js'
import { requestContext, requestId } from './http/request-context.js'
import { validatorCompiler } from './http/validation.js'
import { JobRunner } from './jobs/job-runner.js'
import { mockState } from './plugins/mock-state.js'
import { openapi } from './plugins/openapi.js'
import { backgroundJobs } from './routes/background-jobs.js'
import { bulkIdentify } from './routes/bulk-identify.js'
import { controlFaults } from './routes/control/faults.js'
import { controlJobs } from './routes/control/jobs.js'
import { controlState } from './routes/control/state.js'
import { mockHealth } from './routes/mock-health.js'
import { MemoryStore } from './store/memory-store.js'
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
}

/** The Authorization header (and the admin token) never reach a log line. */
export const REDACTED_PATHS = ['req.headers.authorization', 'req.headers["x-mock-admin"]', 'headers.authorization']

function createStore (config: Config): MockStore {
  if (config.MOCK_STORE !== 'memory') {
    throw new ConfigError('MOCK_STORE (--store): only `memory` is available in this version; the Redis backend is not built yet')
  }
  return new MemoryStore({ jobRetention: config.MOCK_JOB_RETENTION, journalSize: config.MOCK_JOURNAL_SIZE })
}

/**
 * Builds the mock as a Fastify instance, ready for `inject()` or `listen()`.
 * The only place that wires plugins and routes together.
 */
export async function buildApp (options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const config = parseConfig(options.config ?? {})
  const clock = options.clock ?? new SystemClock()
  const store = options.store ?? createStore(config)
  const keys = new KeyRing(parseKeyList(config.MOCK_API_KEYS))

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
    frameworkErrors
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)

  const runner = new JobRunner({
    store,
    clock,
    timing: { stageMs: config.MOCK_STAGE_MS, rowsPerMin: config.MOCK_ROWS_PER_MIN },
    autoAdvance: config.MOCK_CLOCK === 'auto',
    onError: (error, job) => app.log.error({ err: error, jobId: job.jobId }, 'job step failed; retrying')
  })

  await app.register(openapi)
  await app.register(mockState, { config, clock, store, runner, keys, startedAt: clock.now() })
  await app.register(errorHandler, { bodyLimit: config.MOCK_BODY_LIMIT })
  await app.register(requestContext)
  await app.register(bodyParser, { fileLimit: config.MOCK_BODY_LIMIT })

  await app.register(async (userpilot) => {
    userpilot.addHook('onRequest', requireApiKey(keys))
    userpilot.addHook('onRequest', faultHook(store))
    userpilot.addHook('onResponse', journalHook(app.mock))
    await userpilot.register(bulkIdentify)
    await userpilot.register(backgroundJobs)
  }, { prefix: '/v1' })

  await app.register(async (control) => {
    await control.register(mockHealth)
    await control.register(async (scoped) => {
      scoped.addHook('onRequest', requireControlAccess(keys, config.MOCK_ADMIN_TOKEN))
      await scoped.register(controlState)
      await scoped.register(controlJobs)
      await scoped.register(controlFaults)
    })
  }, { prefix: '/__mock' })

  if (keys.open) app.log.warn('MOCK_API_KEYS is empty: any non-empty API key is accepted')
  return app
}
