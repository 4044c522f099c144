import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { auth, bulkUsers, testApp } from '../helpers/app.js'
import { control, expectErrors } from '../helpers/http.js'

// MOCK_CONCURRENCY=queue waits at most MOCK_QUEUE_LIMIT jobs per key behind the running one.

async function submit (app: FastifyInstance, n: number): Promise<number> {
  return (await bulkUsers(app, { users: [{ user_id: `u${n}` }] })).statusCode
}

function queueFull (jobId: string, limit: number, seconds: number): Parameters<typeof expectErrors>[3] {
  return [{
    error: 'rate_limited',
    error_code: 'queue_full',
    message: `This API key already has ${limit} jobs waiting behind job ${jobId} (MOCK_CONCURRENCY=queue, MOCK_QUEUE_LIMIT=${limit}). Retry after ${seconds} s, when it has ended.`,
    details: `retry after ${seconds} s`
  }]
}

t.test('beyond the limit: 429 queue_full with the time until the running job ends; nothing accepted is lost', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue', MOCK_QUEUE_LIMIT: 2, MOCK_STAGE_MS: 5000 })
  for (let n = 0; n < 3; n++) t.equal(await submit(app, n), 202, `job ${n}: running or waiting`)
  const [running] = (await control(app, 'GET', '/jobs')).json<Array<{ job_id: string }>>().reverse()
  const refused = await bulkUsers(app, { users: [{ user_id: 'u3' }] })
  expectErrors(t, refused, 429, queueFull(running?.job_id as string, 2, 20))
  t.equal(refused.headers['retry-after'], '20', 'four stages of 5 s still to go')
  await clock.advance(7500)
  const later = await bulkUsers(app, { users: [{ user_id: 'u3' }] })
  t.equal(later.headers['retry-after'], '13', 'a stage and a half gone: 12.5 s, rounded up')
  await clock.advance(12_500)
  t.equal(await submit(app, 3), 202, 'the running job ended: a place is free')
  t.equal(await submit(app, 4), 429)
  await clock.runAll()
  const jobs = (await control(app, 'GET', '/jobs')).json<Array<{ status: string }>>()
  t.same(jobs.map((job) => job.status), ['completed', 'completed', 'completed', 'completed'], 'every accepted job completed')
  t.equal((await control(app, 'GET', '/users')).json<unknown[]>().length, 4)
})

t.test('under MOCK_CLOCK=manual nothing ends by itself: Retry-After 1', async (t) => {
  const { app } = await testApp(t, { MOCK_CONCURRENCY: 'queue', MOCK_QUEUE_LIMIT: 0, MOCK_CLOCK: 'manual' })
  t.equal(await submit(app, 0), 202)
  const refused = await bulkUsers(app, { users: [{ user_id: 'u1' }] })
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1')
  t.equal((await app.inject({ method: 'GET', url: '/v1/background_jobs', headers: auth() })).json<unknown[]>().length, 1)
})

t.test('the reject mode is unchanged: 409 while a job runs, whatever the limit', async (t) => {
  const { app } = await testApp(t, { MOCK_QUEUE_LIMIT: 0 })
  t.equal(await submit(app, 0), 202)
  t.equal(await submit(app, 1), 409)
})
