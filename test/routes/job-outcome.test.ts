import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { Type } from '@sinclair/typebox'
import { MockJob, MockUser } from '../../schemas/control.js'
import type { JobAccepted, JobStatus } from '../../schemas/jobs.js'
import type { Stage } from '../../src/jobs/lifecycle.js'
import { auth, bulkUsers, getJob, testApp, users } from '../helpers/app.js'
import {
  acceptUsers, bulkCompanies, control, expectAcceptedJob, expectErrors, expectJob, expectOk, invalid, isoAt, jobView, mockJobView,
  type MockJobState
} from '../helpers/http.js'

const HEADER = 'x-mock-job-outcome'

function outcome (value: string): Record<string, string> {
  return { [HEADER]: value }
}

/** Asserts a 200 control answer equal to the job in `state`. */
function expectMockJob (t: Test, res: LightMyRequestResponse, accepted: JobAccepted, state: MockJobState): void {
  t.same(expectOk(t, res, MockJob), mockJobView(accepted, state), `the whole job (${state.history.at(-1)?.[0] ?? ''})`)
}

t.test('X-Mock-Job-Outcome: the job fails on reaching the stage named', async (t) => {
  const cases: Array<[string, Stage, Array<[JobStatus, number]>, number]> = [
    ['failed', 'validating', [['queued', 0], ['validating', 200], ['failed', 200]], 0],
    ['failed@validating', 'validating', [['queued', 0], ['validating', 200], ['failed', 200]], 0],
    ['failed@processing', 'processing', [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 400]], 0],
    ['failed@pending_refresh', 'pending_refresh', [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 600], ['failed', 600]], 4],
    ['  FAILED@Processing ', 'processing', [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 400]], 0],
    ['Failed', 'validating', [['queued', 0], ['validating', 200], ['failed', 200]], 0]
  ]
  for (const [value, stage, history, rows] of cases) {
    t.test(JSON.stringify(value), async (t) => {
      const { app, clock } = await testApp(t)
      const accepted = await acceptUsers(t, app, users(4), { headers: outcome(value) })
      expectMockJob(t, await control(app, 'GET', `/jobs/${accepted.job_id}`), accepted, { history: [['queued', 0]], fail_at: stage })
      await clock.runAll()
      t.equal(clock.pending, 0, 'no timer left')
      expectMockJob(t, await control(app, 'GET', `/jobs/${accepted.job_id}`), accepted, { history, fail_at: stage, completed_rows: rows })
      const [, end] = history.at(-1) as [JobStatus, number]
      expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, { status: 'failed', completed_rows: rows, elapsed_time: 0, end_time: isoAt(end) }))
      t.equal(expectOk<unknown[]>(t, await control(app, 'GET', '/users'), Type.Array(MockUser)).length, rows, `${rows} users stored`)
    })
  }
})

t.test('failed@queued: the 202 still says queued, then the job has failed at once', async (t) => {
  const { app, clock } = await testApp(t)
  const accepted = await acceptUsers(t, app, users(2), { headers: outcome('failed@queued') })
  t.equal(clock.pending, 0, 'no timer: it has ended')
  expectMockJob(t, await control(app, 'GET', `/jobs/${accepted.job_id}`), accepted, { history: [['queued', 0], ['failed', 0]], fail_at: 'queued' })
  expectJob(t, await getJob(app, accepted.job_id), jobView(accepted, { status: 'failed', completed_rows: 0, elapsed_time: 0, end_time: isoAt(0) }))
  t.equal((await bulkUsers(app, { users: users(1) })).statusCode, 202, 'the key is free for the next job at once')
})

t.test('failed@queued behind another job (MOCK_CONCURRENCY=queue) fails at once too; the first runs on', async (t) => {
  const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
  const first = await acceptUsers(t, app, users(1))
  const second = await acceptUsers(t, app, users(1), { headers: outcome('failed@queued') })
  expectMockJob(t, await control(app, 'GET', `/jobs/${second.job_id}`), second, { history: [['queued', 0], ['failed', 0]], fail_at: 'queued' })
  await clock.runAll()
  expectMockJob(t, await control(app, 'GET', `/jobs/${first.job_id}`), first, {
    history: [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 600], ['completed', 800]],
    completed_rows: 1
  })
})

t.test('MOCK_CLOCK=manual: the job fails when advanced to the stage', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const accepted = await acceptUsers(t, app, users(3), { headers: outcome('failed@processing') })
  expectMockJob(t, await control(app, 'POST', `/jobs/${accepted.job_id}/advance`), accepted, { history: [['queued', 0], ['validating', 0]], fail_at: 'processing' })
  expectMockJob(t, await control(app, 'POST', `/jobs/${accepted.job_id}/advance`, { payload: { to: 'completed' } }), accepted, {
    history: [['queued', 0], ['validating', 0], ['processing', 0], ['failed', 0]],
    fail_at: 'processing'
  })
})

t.test('the companies endpoint takes it too', async (t) => {
  const { app, clock } = await testApp(t)
  const payload = JSON.stringify({ companies: [{ company_id: 'c1' }] })
  const accepted = expectAcceptedJob(t, await bulkCompanies(app, payload, { ...auth(), ...outcome('failed@processing') }), { type: 'companies', totalRows: 1, fileSize: payload.length })
  await clock.runAll()
  const job = expectOk<MockJob>(t, await control(app, 'GET', `/jobs/${accepted.job_id}`), MockJob)
  t.same(job, mockJobView(accepted, { history: [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 400]], fail_at: 'processing' }))
  t.same(expectOk(t, await control(app, 'GET', '/companies'), Type.Array(Type.Unknown())), [])
})

t.test('an invalid value: 400 invalid_outcome_header, and no job', async (t) => {
  const { app } = await testApp(t)
  const message = 'X-Mock-Job-Outcome takes "failed" or "failed@<stage>" with a stage of queued, validating, processing or pending_refresh.'
  const values: Array<[string, string]> = [
    ['', '""'],
    ['fail', '"fail"'],
    ['succeeded', '"succeeded"'],
    ['failed@', '"failed@"'],
    ['failed@completed', '"failed@completed"'],
    ['failed@failed', '"failed@failed"'],
    ['failed @processing', '"failed @processing"'],
    ['failed@processing,failed', '"failed@processing,failed"'],
    [`failed@${'x'.repeat(50)}`, `"failed@${'x'.repeat(33)}…"`]
  ]
  for (const [value, shown] of values) {
    const res = await bulkUsers(app, { users: users(1) }, { ...auth(), ...outcome(value) })
    expectErrors(t, res, 400, [invalid('invalid_outcome_header', message, `x-mock-job-outcome ${shown}`)])
  }
  t.same(expectOk(t, await control(app, 'GET', '/jobs'), Type.Array(MockJob)), [])
})
