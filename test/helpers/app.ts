import type { Test } from 'tap'
import type { TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { buildApp, type BuildAppOptions } from '../../src/app.js'
import { ManualClock } from '../../src/clock.js'
import type { Config } from '../../src/config.js'

/** The API key most tests use. */
export const KEY = 'test-key-1'

/** Authorization header for a key. */
export function auth (key: string = KEY): Record<string, string> {
  return { authorization: `Token ${key}` }
}

export interface TestApp {
  app: FastifyInstance
  clock: ManualClock
}

/** A fresh app on a manual clock (starting at `clockStart` when given), never listening, closed when the test ends. */
export async function testApp (t: Test, config: Partial<Config> = {}, options: Omit<BuildAppOptions, 'config' | 'clock'> & { clockStart?: number } = {}): Promise<TestApp> {
  const { clockStart, ...rest } = options
  const clock = new ManualClock(clockStart)
  const app = await buildApp({ logger: false, ...rest, clock, config: { MOCK_STAGE_MS: 200, ...config } })
  t.teardown(() => app.close())
  return { app, clock }
}

/** POST /v1/users/bulk_identify with a JSON body. */
export function bulkUsers (app: FastifyInstance, body: unknown, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/users/bulk_identify',
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' ? body : JSON.stringify(body)
  })
}

/** GET a job's status. */
export function getJob (app: FastifyInstance, jobId: string, headers: Record<string, string> = auth()): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/v1/background_jobs/${jobId}`, headers })
}

/** Asserts that a value matches a TypeBox schema, listing the mismatches when not. */
export function assertSchema (t: Test, schema: TSchema, value: unknown, message = 'matches its schema'): void {
  const errors = [...Value.Errors(schema, value)].map((error) => `${error.path}: ${error.message}`)
  t.same(errors, [], message)
}

/** `n` users with distinct ids. */
export function users (n: number, make: (i: number) => Record<string, unknown> = (i) => ({ user_id: `u${i}` })): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => make(i))
}
