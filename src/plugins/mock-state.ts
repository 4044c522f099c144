import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { JobRunner } from '../jobs/job-runner.js'
import type { ExportRunner } from '../exports/export-runner.js'
import type { DeletionScheduler } from '../realtime/deletions.js'
import type { MockStore } from '../store/store.js'
import type { KeyRing } from '../tenant.js'

/** Everything the routes share: configuration, time, state and the job runner. */
export interface MockState {
  config: Config
  clock: Clock
  store: MockStore
  runner: JobRunner
  /** Carries export jobs forward. */
  exportRunner: ExportRunner
  /** Carries out scheduled deletions at 02:00 UTC. */
  deletions: DeletionScheduler
  keys: KeyRing
  startedAt: number
}

declare module 'fastify' {
  interface FastifyInstance {
    mock: MockState
  }
}

/** Shares the mock's state with every route and releases it when the app closes. */
export const mockState = fp(async function mockState (app: FastifyInstance, state: MockState) {
  app.decorate('mock', state)
  app.addHook('onClose', async () => {
    await state.runner.close()
    await state.exportRunner.close()
    await state.deletions.close()
    state.clock.dispose()
    await state.store.close()
  })
}, { name: 'mock-state', fastify: '5.x' })
