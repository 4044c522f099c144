import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import type { BackgroundJob, JobAccepted } from '../../schemas/jobs.js'
import type { ManualClock } from '../../src/clock.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, bulkUsers, getJob, testApp, users } from '../helpers/app.js'
import { CLOCK_START, bulkCompanies, expectAcceptedJob, expectJob, jobView } from '../helpers/http.js'

const TENANT = tenantOf(KEY).id
const ALL = { limit: 100_000, offset: 0 }

/** Asserts the job's status view at the clock's current time. */
async function expectState (t: Test, app: FastifyInstance, accepted: JobAccepted, status: BackgroundJob['status'], completedRows: number, endTime: number | null = null): Promise<void> {
  const now = app.mock.clock.now()
  expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, {
    status,
    completed_rows: completedRows,
    elapsed_time: Math.floor(((endTime ?? now) - CLOCK_START) / 1000),
    end_time: endTime === null ? null : new Date(endTime).toISOString()
  }))
}

/** Moves the manual clock to `ms` after the submission. */
async function at (clock: ManualClock, ms: number): Promise<void> {
  await clock.advance(CLOCK_START + ms - clock.now())
}

t.test('MOCK_ROWS_PER_MIN=1200, MOCK_STAGE_MS=200: a 600-row job processes for 30 s, rows rising steadily', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_ROWS_PER_MIN: 1200, MOCK_STAGE_MS: 200 })
  const payload = JSON.stringify({ users: users(600) })
  const accepted = expectAcceptedJob(t, await bulkUsers(app, payload), { type: 'users', totalRows: 600, fileSize: Buffer.byteLength(payload) })
  const stored = async () => (await app.mock.store.profiles.listUsers(TENANT, ALL)).length

  await expectState(t, app, accepted, 'queued', 0)
  await at(clock, 199)
  await expectState(t, app, accepted, 'queued', 0)
  await at(clock, 200)
  await expectState(t, app, accepted, 'validating', 0)
  await at(clock, 399)
  await expectState(t, app, accepted, 'validating', 0)
  await at(clock, 400)
  await expectState(t, app, accepted, 'processing', 0)

  // Processing started at 400 ms; its progress steps are 1 s apart: 20 rows a step.
  const PROCESSING = 400
  const points: Array<[number, number]> = [
    [999, 0],
    [1000, 20],
    [7000, 140],
    [7500, 140], // 25 % of the time: the step at 7 s is the last one so far
    [8000, 160],
    [15_000, 300], // half way
    [22_000, 440],
    [22_500, 440], // 75 %
    [23_000, 460],
    [29_000, 580],
    [29_999, 580]
  ]
  for (const [elapsed, rows] of points) {
    await at(clock, PROCESSING + elapsed)
    await expectState(t, app, accepted, 'processing', rows)
    t.equal(await stored(), rows, `${rows} users stored after ${elapsed} ms of processing`)
  }

  await at(clock, PROCESSING + 30_000)
  await expectState(t, app, accepted, 'pending_refresh', 600)
  t.equal(await stored(), 600)
  await at(clock, PROCESSING + 30_199)
  await expectState(t, app, accepted, 'pending_refresh', 600)
  await at(clock, PROCESSING + 30_200)
  await expectState(t, app, accepted, 'completed', 600, CLOCK_START + 30_600)
  t.equal(clock.pending, 0)

  t.same((await app.mock.store.getJob(TENANT, accepted.job_id))?.history, [
    { status: 'queued', at: CLOCK_START },
    { status: 'validating', at: CLOCK_START + 200 },
    { status: 'processing', at: CLOCK_START + 400 },
    { status: 'pending_refresh', at: CLOCK_START + 30_400 },
    { status: 'completed', at: CLOCK_START + 30_600 }
  ])
})

t.test('a small job at a slow rate: shorter progress steps, other stages keep MOCK_STAGE_MS', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_ROWS_PER_MIN: 60, MOCK_STAGE_MS: 100 })
  const body = { companies: Array.from({ length: 5 }, (_, i) => ({ company_id: `c${i}` })) }
  const accepted = expectAcceptedJob(t, await bulkCompanies(app, body), { type: 'companies', totalRows: 5, fileSize: Buffer.byteLength(JSON.stringify(body)) })
  await at(clock, 200)
  await expectState(t, app, accepted, 'processing', 0)
  // 5 rows at 60 rows/min: 5 s of processing, in steps of 250 ms.
  for (const [elapsed, rows] of [[999, 0], [1000, 1], [2499, 2], [2500, 2], [3000, 3], [4999, 4]] as Array<[number, number]>) {
    await at(clock, 200 + elapsed)
    await expectState(t, app, accepted, 'processing', rows)
    t.equal((await app.mock.store.profiles.listCompanies(TENANT, ALL)).length, rows)
  }
  await at(clock, 5200)
  await expectState(t, app, accepted, 'pending_refresh', 5)
  await at(clock, 5300)
  await expectState(t, app, accepted, 'completed', 5, CLOCK_START + 5300)
})

t.test('without MOCK_ROWS_PER_MIN, processing lasts MOCK_STAGE_MS whatever the size', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_STAGE_MS: 200 })
  const payload = JSON.stringify({ users: users(600) })
  const accepted = expectAcceptedJob(t, await bulkUsers(app, payload), { type: 'users', totalRows: 600, fileSize: Buffer.byteLength(payload) })
  await clock.advance(500)
  await expectState(t, app, accepted, 'processing', 300)
  await clock.advance(300)
  await expectState(t, app, accepted, 'completed', 600, CLOCK_START + 800)
})
