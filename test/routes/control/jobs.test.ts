import t, { type Test } from 'tap'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { FlushResult, MockJob } from '../../../schemas/control.js'
import type { ErrorEntry } from '../../../schemas/errors.js'
import type { JobStatus } from '../../../schemas/jobs.js'
import { buildApp } from '../../../src/app.js'
import type { SystemClock } from '../../../src/clock.js'
import { MemoryStore } from '../../../src/store/memory-store.js'
import type { JobRecord } from '../../../src/store/store.js'
import { KEY, bulkUsers, testApp, users } from '../../helpers/app.js'
import { CLOCK_START, acceptUsers, control, expectErrors, expectOk, invalid, logSink, mockJobView, type MockJobState } from '../../helpers/http.js'

const OTHER = 'test-key-2'
const JobList = Type.Array(MockJob)

function advance (app: FastifyInstance, jobId: string, payload?: unknown, key: string | null = KEY, query = ''): Promise<LightMyRequestResponse> {
  return control(app, 'POST', `/jobs/${jobId}/advance${query}`, { key, payload })
}

function fail (app: FastifyInstance, jobId: string, payload?: unknown, key: string | null = KEY, query = ''): Promise<LightMyRequestResponse> {
  return control(app, 'POST', `/jobs/${jobId}/fail${query}`, { key, payload })
}

/** Asserts a 200 MockJob answer equal to the job in `state`. */
function expectJob (t: Test, res: LightMyRequestResponse, accepted: Parameters<typeof mockJobView>[0], state: MockJobState): MockJob {
  const body = expectOk<MockJob>(t, res, MockJob)
  t.same(body, mockJobView(accepted, state), `the whole job (${state.history.at(-1)?.[0] ?? ''})`)
  return body
}

function jobNotFound (jobId: string): ErrorEntry[] {
  return [{
    error: 'not_found',
    error_code: 'job_not_found',
    message: 'No job with this id exists for this API key (add ?all=1 to look across keys).',
    details: `job ${JSON.stringify(jobId)}`
  }]
}

const NONE_DELETED = { users: 0, companies: 0 }

function finished (jobId: string, status: 'completed' | 'failed'): ErrorEntry[] {
  return [{ error: 'conflict', error_code: 'job_finished', message: `Job ${jobId} has already ${status}; it cannot move any more.`, details: status }]
}

function backwards (jobId: string, status: JobStatus): ErrorEntry[] {
  return [{ error: 'conflict', error_code: 'invalid_transition', message: `Job ${jobId} is ${status} already; "to" must be a later status.`, details: status }]
}

function waiting (jobId: string, aheadId: string): ErrorEntry[] {
  return [{ error: 'conflict', error_code: 'job_waiting', message: `Job ${jobId} waits for job ${aheadId} of the same key, which runs first (one job at a time). Advance that one.`, details: aheadId }]
}

const UNKNOWN = 'bulk:jobs:NX-00000000:00000000-0000-4000-8000-000000000000'
const FULL_RUN: Array<[JobStatus, number]> = [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 600], ['completed', 800]]

t.test('GET /__mock/jobs', async (t) => {
  t.test('no jobs yet: an empty list', async (t) => {
    const { app } = await testApp(t)
    t.same(expectOk(t, await control(app, 'GET', '/jobs'), JobList), [])
  })

  t.test('newest first, each with its whole history and fail_at', async (t) => {
    const { app, clock } = await testApp(t)
    const first = await acceptUsers(t, app, users(2))
    await clock.runAll()
    const second = await acceptUsers(t, app, users(3), { at: 800, headers: { 'x-mock-job-outcome': 'failed@processing' } })
    await clock.advance(250)
    t.same(expectOk(t, await control(app, 'GET', '/jobs'), JobList), [
      mockJobView(second, { history: [['queued', 800], ['validating', 1000]], fail_at: 'processing' }),
      mockJobView(first, { history: FULL_RUN, completed_rows: 2 })
    ])
  })

  t.test('limit and offset', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const jobs = []
    for (let i = 0; i < 4; i++) {
      const job = await acceptUsers(t, app, users(1), { at: clock.now() - CLOCK_START })
      expectOk(t, await advance(app, job.job_id, { to: 'completed' }), MockJob)
      jobs.push(job.job_id)
      await clock.advance(1000)
    }
    const ids = async (query: string): Promise<string[]> => expectOk<MockJob[]>(t, await control(app, 'GET', `/jobs${query}`), JobList).map((job) => job.job_id)
    t.same(await ids(''), [...jobs].reverse())
    t.same(await ids('?limit=2'), [jobs[3], jobs[2]])
    t.same(await ids('?limit=2&offset=1'), [jobs[2], jobs[1]])
    t.same(await ids('?offset=3'), [jobs[0]])
    t.same(await ids('?offset=4'), [])
  })

  t.test('another key\'s jobs are not listed; ?all=1 merges every key\'s, newest first', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const mine1 = await acceptUsers(t, app, users(1))
    expectOk(t, await advance(app, mine1.job_id, { to: 'completed' }), MockJob)
    await clock.advance(1000)
    const theirs = await acceptUsers(t, app, users(2), { key: OTHER, at: 1000 })
    await clock.advance(1000)
    const mine2 = await acceptUsers(t, app, users(3), { at: 2000 })
    t.same(expectOk<MockJob[]>(t, await control(app, 'GET', '/jobs'), JobList).map((job) => job.job_id), [mine2.job_id, mine1.job_id])
    t.same(expectOk(t, await control(app, 'GET', '/jobs', { key: OTHER }), JobList), [mockJobView(theirs, { history: [['queued', 1000]] })])
    const all = expectOk<MockJob[]>(t, await control(app, 'GET', '/jobs?all=1', { key: null }), JobList)
    t.same(all, [
      mockJobView(mine2, { history: [['queued', 2000]] }),
      mockJobView(theirs, { history: [['queued', 1000]] }),
      mockJobView(mine1, { history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['completed', 0]], completed_rows: 1 })
    ])
    t.same(expectOk<MockJob[]>(t, await control(app, 'GET', '/jobs?all=1&limit=1&offset=1', { key: null }), JobList).map((job) => job.job_id), [theirs.job_id], 'a page across keys')
  })
})

t.test('GET /__mock/jobs/:job_id', async (t) => {
  t.test('the job with its history', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(2))
    await clock.advance(450)
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0], ['validating', 200], ['processing', 400]] })
    expectJob(t, await control(app, 'GET', `/jobs/${encodeURIComponent(job.job_id)}`), job, { history: [['queued', 0], ['validating', 200], ['processing', 400]] })
  })

  t.test('unknown, or another key\'s: 404 job_not_found unless ?all=1', async (t) => {
    const { app } = await testApp(t)
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    expectErrors(t, await control(app, 'GET', `/jobs/${UNKNOWN}`), 404, jobNotFound(UNKNOWN))
    expectErrors(t, await control(app, 'GET', `/jobs/${theirs.job_id}`), 404, jobNotFound(theirs.job_id))
    expectJob(t, await control(app, 'GET', `/jobs/${theirs.job_id}?all=1`), theirs, { history: [['queued', 0]] })
    expectJob(t, await control(app, 'GET', `/jobs/${theirs.job_id}?all=1`, { key: null }), theirs, { history: [['queued', 0]] })
    expectErrors(t, await control(app, 'GET', `/jobs/${UNKNOWN}?all=1`, { key: null }), 404, jobNotFound(UNKNOWN))
  })

  t.test('an id over 512 characters: 400 invalid_parameter', async (t) => {
    const { app } = await testApp(t)
    expectErrors(t, await control(app, 'GET', `/jobs/${'x'.repeat(513)}`), 400, [invalid(
      'invalid_parameter', 'The params parameter "job_id" is not valid: Expected string length less or equal to 512.', 'params/job_id')])
  })
})

t.test('POST /__mock/jobs/:job_id/advance', async (t) => {
  t.test('without a body, with {} or null: one stage at a time; processing applies every row at once', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(3))
    const history: Array<[JobStatus, number]> = [['queued', 0]]
    const steps: Array<[unknown, JobStatus, number]> = [[undefined, 'validating', 0], [{}, 'processing', 0], [null, 'pending_refresh', 3], [{}, 'completed', 3]]
    for (const [payload, status, rows] of steps) {
      await clock.advance(100)
      history.push([status, history.length * 100])
      expectJob(t, await advance(app, job.job_id, payload), job, { history: [...history], completed_rows: rows })
    }
    t.equal(expectOk<unknown[]>(t, await control(app, 'GET', '/users'), Type.Array(Type.Unknown())).length, 3, 'the rows were applied')
  })

  t.test('{to}: until that status, every stage passed in the history at the same instant', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(2))
    expectJob(t, await advance(app, job.job_id, { to: 'processing' }), job, { history: [['queued', 0], ['validating', 0], ['processing', 0]] })
    expectJob(t, await advance(app, job.job_id, { to: 'completed' }), job, {
      history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['completed', 0]],
      completed_rows: 2
    })
  })

  t.test('{to: "failed"} fails the job now, with the rows applied so far', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(10))
    await clock.advance(500)
    expectJob(t, await advance(app, job.job_id, { to: 'failed' }), job, {
      history: [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 500]],
      completed_rows: 5
    })
    t.equal(clock.pending, 0, 'no timer left')
    await clock.advance(10_000)
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, {
      history: [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 500]],
      completed_rows: 5
    })
  })

  t.test('on the auto clock the job carries on from where it was moved', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(2))
    await clock.advance(50)
    expectJob(t, await advance(app, job.job_id), job, { history: [['queued', 0], ['validating', 50]] })
    t.equal(clock.pending, 1, 'one timer: the old one was replaced')
    await clock.advance(199)
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0], ['validating', 50]] })
    await clock.advance(1)
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0], ['validating', 50], ['processing', 250]] })
    await clock.runAll()
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, {
      history: [['queued', 0], ['validating', 50], ['processing', 250], ['pending_refresh', 450], ['completed', 650]],
      completed_rows: 2
    })
  })

  t.test('a terminal job: 409 job_finished', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const done = await acceptUsers(t, app, users(1))
    expectOk(t, await advance(app, done.job_id, { to: 'completed' }), MockJob)
    for (const payload of [undefined, { to: 'completed' }, { to: 'failed' }]) {
      expectErrors(t, await advance(app, done.job_id, payload), 409, finished(done.job_id, 'completed'))
    }
    const failed = await acceptUsers(t, app, users(1))
    expectOk(t, await fail(app, failed.job_id), MockJob)
    expectErrors(t, await advance(app, failed.job_id), 409, finished(failed.job_id, 'failed'))
  })

  t.test('{to} that is not later: 409 invalid_transition', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    expectErrors(t, await advance(app, job.job_id, { to: 'queued' }), 409, backwards(job.job_id, 'queued'))
    expectOk(t, await advance(app, job.job_id, { to: 'processing' }), MockJob)
    for (const to of ['queued', 'validating', 'processing']) {
      expectErrors(t, await advance(app, job.job_id, { to }), 409, backwards(job.job_id, 'processing'))
    }
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0], ['validating', 0], ['processing', 0]] })
  })

  t.test('an unknown job, or another key\'s: 404 job_not_found; ?all=1 reaches any key\'s', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    expectErrors(t, await advance(app, UNKNOWN), 404, jobNotFound(UNKNOWN))
    expectErrors(t, await advance(app, theirs.job_id), 404, jobNotFound(theirs.job_id))
    expectJob(t, await advance(app, theirs.job_id, undefined, null, '?all=1'), theirs, { history: [['queued', 0], ['validating', 0]] })
    expectJob(t, await advance(app, theirs.job_id, {}, KEY, '?all=1'), theirs, { history: [['queued', 0], ['validating', 0], ['processing', 0]] })
  })

  t.test('an invalid body: 400 invalid_body', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    for (const payload of [{ to: 'done' }, { to: 'completed', extra: 1 }, { step: 1 }, [], 'completed']) {
      expectErrors(t, await advance(app, job.job_id, payload), 400, [invalid('invalid_body', 'The body: expected no body, or an object such as {"to": "completed"} (`to`: a later job status).', 'body')])
    }
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0]] })
  })

  t.test('MOCK_CONCURRENCY=queue: a job behind another of the same key is 409 job_waiting until that one ends', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' })
    const first = await acceptUsers(t, app, users(1))
    const second = await acceptUsers(t, app, users(2))
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    for (const payload of [undefined, { to: 'completed' }]) {
      expectErrors(t, await advance(app, second.job_id, payload), 409, waiting(second.job_id, first.job_id))
    }
    expectJob(t, await advance(app, theirs.job_id, undefined, OTHER), theirs, { history: [['queued', 0], ['validating', 0]] })
    expectJob(t, await advance(app, first.job_id, { to: 'validating' }), first, { history: [['queued', 0], ['validating', 0]] })
    expectErrors(t, await advance(app, second.job_id), 409, waiting(second.job_id, first.job_id))
    expectOk(t, await advance(app, first.job_id, { to: 'completed' }), MockJob)
    expectJob(t, await advance(app, second.job_id, { to: 'completed' }), second, {
      history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['completed', 0]],
      completed_rows: 2
    })
  })

  t.test('MOCK_CONCURRENCY=queue: {to: "failed"} fails a waiting job', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' })
    const first = await acceptUsers(t, app, users(1))
    const second = await acceptUsers(t, app, users(1))
    expectJob(t, await advance(app, second.job_id, { to: 'failed' }), second, { history: [['queued', 0], ['failed', 0]] })
    expectJob(t, await control(app, 'GET', `/jobs/${first.job_id}`), first, { history: [['queued', 0]] })
  })
})

t.test('POST /__mock/jobs/:job_id/fail', async (t) => {
  t.test('without a body, {} or null: fails now', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    for (const payload of [undefined, {}, null]) {
      const job = await acceptUsers(t, app, users(2), { at: clock.now() - CLOCK_START })
      const at = clock.now() - CLOCK_START
      await clock.advance(100)
      expectJob(t, await fail(app, job.job_id, payload), job, { history: [['queued', at], ['failed', at + 100]] })
    }
  })

  t.test('{at: processing}: fails on reaching processing, with no row applied', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(3))
    expectJob(t, await fail(app, job.job_id, { at: 'processing' }), job, { history: [['queued', 0]], fail_at: 'processing' })
    await clock.advance(100)
    expectJob(t, await advance(app, job.job_id), job, { history: [['queued', 0], ['validating', 100]], fail_at: 'processing' })
    await clock.advance(100)
    expectJob(t, await advance(app, job.job_id), job, {
      history: [['queued', 0], ['validating', 100], ['processing', 200], ['failed', 200]],
      fail_at: 'processing',
      completed_rows: 0
    })
    t.same(expectOk(t, await control(app, 'GET', '/users'), Type.Array(Type.Unknown())), [], 'no user stored')
  })

  t.test('{at: pending_refresh}: every row is applied, then it fails', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(3))
    expectOk(t, await fail(app, job.job_id, { at: 'pending_refresh' }), MockJob)
    expectJob(t, await advance(app, job.job_id, { to: 'completed' }), job, {
      history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['failed', 0]],
      fail_at: 'pending_refresh',
      completed_rows: 3
    })
    t.equal(expectOk<unknown[]>(t, await control(app, 'GET', '/users'), Type.Array(Type.Unknown())).length, 3)
  })

  t.test('{at} on the auto clock: the job fails when its timers bring it there', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(4))
    expectOk(t, await fail(app, job.job_id, { at: 'pending_refresh' }), MockJob)
    await clock.runAll()
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, {
      history: [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 600], ['failed', 600]],
      fail_at: 'pending_refresh',
      completed_rows: 4
    })
    t.equal(clock.pending, 0)
  })

  t.test('a later {at} replaces an earlier one', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    expectOk(t, await fail(app, job.job_id, { at: 'validating' }), MockJob)
    expectJob(t, await fail(app, job.job_id, { at: 'pending_refresh' }), job, { history: [['queued', 0]], fail_at: 'pending_refresh' })
  })

  t.test('{at} the current stage or an earlier one: fails now', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    expectOk(t, await advance(app, job.job_id), MockJob)
    expectJob(t, await fail(app, job.job_id, { at: 'validating' }), job, { history: [['queued', 0], ['validating', 0], ['failed', 0]] })
    const other = await acceptUsers(t, app, users(1))
    expectOk(t, await advance(app, other.job_id, { to: 'processing' }), MockJob)
    expectJob(t, await fail(app, other.job_id, { at: 'queued' }), other, { history: [['queued', 0], ['validating', 0], ['processing', 0], ['failed', 0]] })
  })

  t.test('mid-processing on the auto clock: the rows applied so far stay, no more follow', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(20))
    await clock.advance(450)
    expectJob(t, await fail(app, job.job_id), job, { history: [['queued', 0], ['validating', 200], ['processing', 400], ['failed', 450]], completed_rows: 5 })
    t.equal(clock.pending, 0)
    t.equal(expectOk<unknown[]>(t, await control(app, 'GET', '/users'), Type.Array(Type.Unknown())).length, 5)
  })

  t.test('a terminal job: 409 job_finished; unknown: 404; another key\'s: 404 unless ?all=1', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    expectOk(t, await fail(app, job.job_id), MockJob)
    expectErrors(t, await fail(app, job.job_id), 409, finished(job.job_id, 'failed'))
    expectErrors(t, await fail(app, job.job_id, { at: 'processing' }), 409, finished(job.job_id, 'failed'))
    expectErrors(t, await fail(app, UNKNOWN), 404, jobNotFound(UNKNOWN))
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    expectErrors(t, await fail(app, theirs.job_id), 404, jobNotFound(theirs.job_id))
    expectJob(t, await fail(app, theirs.job_id, { at: 'processing' }, null, '?all=1'), theirs, { history: [['queued', 0]], fail_at: 'processing' })
  })

  t.test('an invalid body: 400 invalid_body', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const job = await acceptUsers(t, app, users(1))
    for (const payload of [{ at: 'completed' }, { at: 'failed' }, { at: 'later' }, { when: 'processing' }]) {
      expectErrors(t, await fail(app, job.job_id, payload), 400, [invalid('invalid_body', 'The body: expected no body, or an object such as {"at": "processing"} (`at`: queued, validating, processing or pending_refresh).', 'body')])
    }
  })

  t.test('MOCK_CONCURRENCY=queue on the auto clock: failing the running job lets the next one run', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const first = await acceptUsers(t, app, users(1))
    const second = await acceptUsers(t, app, users(1))
    await clock.advance(300)
    expectJob(t, await control(app, 'GET', `/jobs/${second.job_id}`), second, { history: [['queued', 0]] })
    expectJob(t, await fail(app, first.job_id), first, { history: [['queued', 0], ['validating', 200], ['failed', 300]] })
    await clock.advance(0)
    expectJob(t, await control(app, 'GET', `/jobs/${second.job_id}`), second, { history: [['queued', 0], ['validating', 300]] })
  })
})

t.test('POST /__mock/clock/flush', async (t) => {
  t.test('runs every pending job of the key to its end, in order; other keys wait', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual', MOCK_CONCURRENCY: 'queue' })
    const first = await acceptUsers(t, app, [{ user_id: 'u', metadata: { n: 1 } }])
    const second = await acceptUsers(t, app, [{ user_id: 'u', metadata: { n: 2 } }], { headers: { 'x-mock-job-outcome': 'failed@pending_refresh' } })
    const third = await acceptUsers(t, app, [{ user_id: 'u', metadata: { n: 3 } }])
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    t.same(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 3, deleted: NONE_DELETED })
    const done: MockJobState = { history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['completed', 0]], completed_rows: 1 }
    t.same(expectOk(t, await control(app, 'GET', '/jobs'), JobList), [
      mockJobView(third, done),
      mockJobView(second, { history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['failed', 0]], completed_rows: 1, fail_at: 'pending_refresh' }),
      mockJobView(first, done)
    ])
    const [stored] = expectOk<Array<{ metadata: unknown }>>(t, await control(app, 'GET', '/users'), Type.Array(Type.Any()))
    t.same(stored?.metadata, { n: 3 }, 'applied in order: the last job wins')
    t.same(expectOk(t, await control(app, 'GET', '/jobs', { key: OTHER }), JobList), [mockJobView(theirs, { history: [['queued', 0]] })])
    t.same(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 0, deleted: NONE_DELETED }, 'nothing left')
  })

  t.test('?all=1 flushes every key', async (t) => {
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
    const mine = await acceptUsers(t, app, users(2))
    const theirs = await acceptUsers(t, app, users(1), { key: OTHER })
    t.same(expectOk(t, await control(app, 'POST', '/clock/flush?all=1', { key: null }), FlushResult), { finished: 2, deleted: NONE_DELETED })
    for (const [key, job, rows] of [[KEY, mine, 2], [OTHER, theirs, 1]] as const) {
      t.same(expectOk(t, await control(app, 'GET', '/jobs', { key }), JobList), [mockJobView(job, {
        history: [['queued', 0], ['validating', 0], ['processing', 0], ['pending_refresh', 0], ['completed', 0]],
        completed_rows: rows
      })])
    }
    t.same(expectOk(t, await control(app, 'POST', '/clock/flush?all=1', { key: null }), FlushResult), { finished: 0, deleted: NONE_DELETED })
  })

  t.test('on the auto clock: jobs end now and their timers go', async (t) => {
    const { app, clock } = await testApp(t)
    const job = await acceptUsers(t, app, users(4))
    await clock.advance(450)
    t.same(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 1, deleted: NONE_DELETED })
    t.equal(clock.pending, 0)
    expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, {
      history: [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 450], ['completed', 450]],
      completed_rows: 4
    })
  })
})

t.test('MOCK_CLOCK=manual on the system clock: no timers at all; jobs move only when told', async (t) => {
  const app = await buildApp({ logger: false, config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => app.close())
  const clock = app.mock.clock as SystemClock
  const res = await bulkUsers(app, { users: users(2) })
  t.equal(res.statusCode, 202)
  const jobId = res.json<{ job_id: string }>().job_id
  t.equal(clock.pending, 0, 'no timer after the bulk request')
  const queued = expectOk<MockJob>(t, await control(app, 'GET', `/jobs/${jobId}`), MockJob)
  t.equal(queued.status, 'queued')
  const moved = expectOk<MockJob>(t, await advance(app, jobId), MockJob)
  t.equal(moved.status, 'validating')
  t.equal(clock.pending, 0, 'none after advance')
  t.same(expectOk(t, await control(app, 'POST', '/clock/flush'), FlushResult), { finished: 1, deleted: NONE_DELETED })
  const done = expectOk<MockJob>(t, await control(app, 'GET', `/jobs/${jobId}`), MockJob)
  t.same([done.status, done.completed_rows], ['completed', 2])
  t.equal(clock.pending, 0)
})

t.test('MOCK_CLOCK=auto on the system clock (contrast): a timer per running job', async (t) => {
  const app = await buildApp({ logger: false, config: { MOCK_STAGE_MS: 60_000 } })
  t.teardown(() => app.close())
  t.equal((await bulkUsers(app, { users: users(1) })).statusCode, 202)
  t.equal((app.mock.clock as SystemClock).pending, 1)
})

/** A store where another mover acts just before a chosen call, as a second process could. */
class RacingStore extends MemoryStore {
  beforeTransition: (() => Promise<void>) | undefined
  beforeGetJob: { call: number, run: () => Promise<void> } | undefined
  /** Thrown by the next getJob, once: the store being unreachable for a moment. */
  failNextGetJob: Error | undefined
  #getJobCalls = 0

  override async transitionJob (tenant: string, jobId: string, from: JobStatus, to: JobStatus, at: number): Promise<JobRecord | undefined> {
    const race = this.beforeTransition
    this.beforeTransition = undefined
    if (race !== undefined) await race()
    return await super.transitionJob(tenant, jobId, from, to, at)
  }

  override async getJob (tenant: string, jobId: string): Promise<JobRecord | undefined> {
    if (this.beforeGetJob !== undefined && ++this.#getJobCalls === this.beforeGetJob.call) await this.beforeGetJob.run()
    const failure = this.failNextGetJob
    this.failNextGetJob = undefined
    if (failure !== undefined) throw failure
    return await super.getJob(tenant, jobId)
  }
}

t.test('races with another mover', async (t) => {
  async function racing (t: Test): Promise<{ app: FastifyInstance, store: RacingStore }> {
    const store = new RacingStore({ jobRetention: 1000 })
    const { app } = await testApp(t, { MOCK_CLOCK: 'manual' }, { store })
    return { app, store }
  }

  t.test('advance: a stage moved by someone else first counts as the step', async (t) => {
    const { app, store } = await racing(t)
    const job = await acceptUsers(t, app, users(1))
    const tenant = (await store.listTenants())[0] as string
    store.beforeTransition = async () => { await store.transitionJob(tenant, job.job_id, 'queued', 'validating', CLOCK_START + 5) }
    expectJob(t, await advance(app, job.job_id), job, { history: [['queued', 0], ['validating', 5]] })
  })

  t.test('fail: a job that moved on meanwhile is failed where it is now', async (t) => {
    const { app, store } = await racing(t)
    const job = await acceptUsers(t, app, users(1))
    const tenant = (await store.listTenants())[0] as string
    store.beforeTransition = async () => { await store.transitionJob(tenant, job.job_id, 'queued', 'validating', CLOCK_START) }
    expectJob(t, await fail(app, job.job_id), job, { history: [['queued', 0], ['validating', 0], ['failed', 0]] })
  })

  t.test('a job forgotten between the lookup and the move: 404 job_not_found', async (t) => {
    const { app, store } = await racing(t)
    const job = await acceptUsers(t, app, users(1))
    store.beforeGetJob = { call: 2, run: async () => { await store.reset(null) } }
    expectErrors(t, await advance(app, job.job_id), 404, jobNotFound(job.job_id))
  })

  t.test('a job forgotten between the lookup and the fail: 404 job_not_found', async (t) => {
    const { app, store } = await racing(t)
    const job = await acceptUsers(t, app, users(1))
    store.beforeGetJob = { call: 2, run: async () => { await store.reset(null) } }
    expectErrors(t, await fail(app, job.job_id), 404, jobNotFound(job.job_id))
  })
})

t.test('a timed step that fails on the store is logged and retried a second later', async (t) => {
  const store = new RacingStore({ jobRetention: 1000 })
  const sink = logSink()
  const { app, clock } = await testApp(t, {}, { store, logger: { level: 'error', stream: sink.stream } })
  const job = await acceptUsers(t, app, users(1))
  store.failNextGetJob = new Error('store unreachable')
  await clock.advance(200)
  t.match(sink.lines, [{ level: 50, msg: 'job step failed; retrying', jobId: job.job_id, err: { message: 'store unreachable' } }])
  expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0]] })
  await clock.advance(999)
  expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0]] })
  await clock.advance(1)
  expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, { history: [['queued', 0], ['validating', 1200]] })
  await clock.runAll()
  expectJob(t, await control(app, 'GET', `/jobs/${job.job_id}`), job, {
    history: [['queued', 0], ['validating', 1200], ['processing', 1400], ['pending_refresh', 1600], ['completed', 1800]],
    completed_rows: 1
  })
  t.equal(sink.lines.length, 1, 'one failure, one log line')
})
