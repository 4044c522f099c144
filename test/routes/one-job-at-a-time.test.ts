import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { JobAccepted, type JobStatus } from '../../schemas/jobs.js'
import type { JobRecord } from '../../src/store/store.js'
import { tenantOf } from '../../src/tenant.js'
import { KEY, assertSchema, auth, bulkUsers, getJob, testApp } from '../helpers/app.js'
import {
  CLOCK_START, bulkCompanies, expectAcceptedJob, expectErrors, expectJob, expectJobList, invalid, jobInProgress,
  jobView, listJobs, uploadNdjson
} from '../helpers/http.js'

const TENANT = tenantOf(KEY).id
const ALL = { limit: 1000, offset: 0 }

const usersBody = { users: [{ user_id: 'u1', company_id: 'c1' }] }
const companiesBody = { companies: [{ company_id: 'c1' }] }
const usersSize = Buffer.byteLength(JSON.stringify(usersBody))
const companiesSize = Buffer.byteLength(JSON.stringify(companiesBody))

/** Sends one user and asserts the 202. */
async function acceptUsers (t: Test, app: FastifyInstance, at = CLOCK_START, key = KEY): Promise<JobAccepted> {
  return expectAcceptedJob(t, await bulkUsers(app, usersBody, auth(key)), { type: 'users', totalRows: 1, fileSize: usersSize, at, key })
}

/** Sends one company and asserts the 202. */
async function acceptCompanies (t: Test, app: FastifyInstance, at = CLOCK_START, key = KEY): Promise<JobAccepted> {
  return expectAcceptedJob(t, await bulkCompanies(app, companiesBody, auth(key)), { type: 'companies', totalRows: 1, fileSize: companiesSize, at, key })
}

async function storedJob (app: FastifyInstance, jobId: string, tenant = TENANT): Promise<JobRecord> {
  const job = await app.mock.store.getJob(tenant, jobId)
  if (job === undefined) throw new Error(`job ${jobId} is gone`)
  return job
}

async function statusOf (app: FastifyInstance, jobId: string): Promise<JobStatus> {
  return (await storedJob(app, jobId)).status
}

/** Splits concurrent answers into the 202 bodies and the 409 bodies, asserting every body against its schema. */
function sortAnswers (t: Test, answers: LightMyRequestResponse[]): { accepted: JobAccepted[], conflicts: Array<{ errors: Array<{ details: string }> }> } {
  const accepted: JobAccepted[] = []
  const conflicts: Array<{ errors: Array<{ details: string }> }> = []
  for (const res of answers) {
    if (res.statusCode === 202) {
      assertSchema(t, JobAccepted, res.json(), 'a JobAccepted')
      accepted.push(res.json())
    } else {
      t.equal(res.statusCode, 409, 'every other answer is 409')
      assertSchema(t, ErrorEnvelope, res.json(), 'an ErrorEnvelope')
      conflicts.push(res.json())
    }
  }
  return { accepted, conflicts }
}

t.test('MOCK_CONCURRENCY=reject (the default)', async (t) => {
  t.test('a second request while the job is queued: 409 naming the running job', async (t) => {
    const { app } = await testApp(t)
    const first = await acceptUsers(t, app)
    const res = await bulkUsers(app, { users: [{ user_id: 'u2' }] })
    expectErrors(t, res, 409, [jobInProgress(first.job_id)])
    t.match(res.json().errors[0].message as string, first.job_id, 'the message contains the running job id')
    expectJobList(t, await listJobs(app), [jobView(first, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
    t.equal(await app.mock.store.profiles.getUser(TENANT, 'u2'), undefined)
  })

  t.test('409 in every stage that has not ended', async (t) => {
    const { app, clock } = await testApp(t)
    const first = await acceptUsers(t, app)
    for (const [stage, at] of [['queued', 0], ['validating', 200], ['processing', 400], ['pending_refresh', 600]] as const) {
      await clock.advance(at - (clock.now() - CLOCK_START))
      t.equal(await statusOf(app, first.job_id), stage)
      expectErrors(t, await bulkUsers(app, usersBody), 409, [jobInProgress(first.job_id)])
      expectErrors(t, await bulkCompanies(app, companiesBody), 409, [jobInProgress(first.job_id)])
      expectErrors(t, await uploadNdjson(app, 'users', '{"user_id":"u9"}\n'), 409, [jobInProgress(first.job_id)])
    }
    await clock.advance(200)
    t.equal(await statusOf(app, first.job_id), 'completed')
    await acceptCompanies(t, app, CLOCK_START + 800)
  })

  t.test('users and companies share the key: a users job blocks companies', async (t) => {
    const { app } = await testApp(t)
    const users = await acceptUsers(t, app)
    expectErrors(t, await bulkCompanies(app, companiesBody), 409, [jobInProgress(users.job_id)])
    expectErrors(t, await uploadNdjson(app, 'companies', '{"company_id":"c1"}\n'), 409, [jobInProgress(users.job_id)])
    t.same(await app.mock.store.profiles.listCompanies(TENANT, ALL), [])
  })

  t.test('users and companies share the key: a companies job blocks users', async (t) => {
    const { app } = await testApp(t)
    const companies = await acceptCompanies(t, app)
    expectErrors(t, await bulkUsers(app, usersBody), 409, [jobInProgress(companies.job_id)])
    expectErrors(t, await uploadNdjson(app, 'users', '{"user_id":"u1"}\n'), 409, [jobInProgress(companies.job_id)])
    expectJobList(t, await listJobs(app), [jobView(companies, { status: 'queued', completed_rows: 0, elapsed_time: 0 })])
  })

  t.test('another key is not blocked, and blocks only itself', async (t) => {
    const { app } = await testApp(t)
    const mine = await acceptUsers(t, app)
    const theirs = await acceptCompanies(t, app, CLOCK_START, 'other-key')
    expectErrors(t, await bulkUsers(app, usersBody, auth('other-key')), 409, [jobInProgress(theirs.job_id)])
    expectErrors(t, await bulkUsers(app, usersBody), 409, [jobInProgress(mine.job_id)])
  })

  t.test('once the job has completed, the next request is accepted', async (t) => {
    const { app, clock } = await testApp(t)
    const first = await acceptUsers(t, app)
    await clock.advance(799)
    expectErrors(t, await bulkCompanies(app, companiesBody), 409, [jobInProgress(first.job_id)])
    await clock.advance(1)
    t.equal(await statusOf(app, first.job_id), 'completed')
    const second = await acceptCompanies(t, app, CLOCK_START + 800)
    expectErrors(t, await bulkUsers(app, usersBody), 409, [jobInProgress(second.job_id)])
  })

  t.test('a failed job frees the key too', async (t) => {
    const { app, clock } = await testApp(t)
    const first = await acceptUsers(t, app)
    await clock.advance(300)
    t.equal((await app.mock.store.transitionJob(TENANT, first.job_id, 'validating', 'failed', clock.now()))?.status, 'failed')
    const second = await acceptCompanies(t, app, CLOCK_START + 300)
    await clock.runAll()
    t.equal(await statusOf(app, first.job_id), 'failed', 'the failed job stays failed')
    t.equal(await statusOf(app, second.job_id), 'completed')
    t.equal(await app.mock.store.profiles.getUser(TENANT, 'u1'), undefined, 'the failed job applied nothing')
    t.equal((await app.mock.store.profiles.getCompany(TENANT, 'c1'))?.companyId, 'c1')
  })

  t.test('a refused request is checked before the conflict: 400 and 413 win over 409', async (t) => {
    const { app } = await testApp(t, { MOCK_MAX_RECORDS: 5 })
    await acceptUsers(t, app)
    expectErrors(t, await bulkUsers(app, { users: [{ user_id: '' }] }), 400, [
      invalid('empty_user_id', 'users[0].user_id is empty: it must be a non-empty string.', '/users/0/user_id')
    ])
    expectErrors(t, await uploadNdjson(app, 'companies', '\n'), 400, [
      invalid('empty_file', 'The uploaded file has no rows: send one JSON object per line, one per company.', 'file')
    ])
    expectErrors(t, await bulkCompanies(app, { companies: Array.from({ length: 6 }, (_, i) => ({ company_id: `c${i}` })) }), 413, [{
      error: 'payload_too_large',
      error_code: 'too_many_records',
      message: 'A bulk request carries at most 5 companies; this one has 6. Split them into several requests.',
      details: '/companies holds 6 items'
    }])
  })

  t.test('10 requests at once on one key: exactly one 202, nine 409 naming it', async (t) => {
    const { app } = await testApp(t)
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => bulkUsers(app, { users: [{ user_id: `u${i}` }] })))
    const { accepted, conflicts } = sortAnswers(t, answers)
    t.equal(accepted.length, 1, 'one 202')
    t.equal(conflicts.length, 9, 'nine 409')
    const jobId = accepted[0]?.job_id as string
    for (const conflict of conflicts) t.same(conflict, { errors: [jobInProgress(jobId)] })
    t.same((await app.mock.store.listJobs(TENANT, ALL)).map((job) => job.jobId), [jobId], 'one job stored')
  })

  t.test('10 requests at once, users and companies mixed, JSON and uploads: exactly one 202', async (t) => {
    const { app, clock } = await testApp(t)
    const requests = Array.from({ length: 10 }, (_, i) => {
      switch (i % 4) {
        case 0: return bulkUsers(app, { users: [{ user_id: `u${i}` }] })
        case 1: return bulkCompanies(app, { companies: [{ company_id: `c${i}` }] })
        case 2: return uploadNdjson(app, 'users', `{"user_id":"u${i}"}\n`)
        default: return uploadNdjson(app, 'companies', `{"company_id":"c${i}"}\n`)
      }
    })
    const { accepted, conflicts } = sortAnswers(t, await Promise.all(requests))
    t.equal(accepted.length, 1, 'one 202')
    t.equal(conflicts.length, 9, 'nine 409')
    const jobId = accepted[0]?.job_id as string
    for (const conflict of conflicts) t.same(conflict, { errors: [jobInProgress(jobId)] })
    t.equal((await app.mock.store.listJobs(TENANT, ALL)).length, 1)
    await clock.runAll()
    const stored = (await app.mock.store.profiles.listUsers(TENANT, ALL)).length + (await app.mock.store.profiles.listCompanies(TENANT, ALL)).length
    t.equal(stored, 1, 'only the accepted row was applied')
  })

  t.test('10 requests at once on 10 keys: all accepted', async (t) => {
    const { app } = await testApp(t)
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => bulkUsers(app, usersBody, auth(`key-${i}`))))
    const { accepted, conflicts } = sortAnswers(t, answers)
    t.equal(accepted.length, 10)
    t.equal(conflicts.length, 0)
  })
})

t.test('MOCK_CONCURRENCY=queue', async (t) => {
  t.test('jobs wait in queued and run one after another, in arrival order', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const one = await acceptUsers(t, app)
    const two = await acceptCompanies(t, app)
    const three = expectAcceptedJob(t, await uploadNdjson(app, 'users', '{"user_id":"u3"}\n'), { type: 'users', totalRows: 1, fileSize: 17, filename: 'users.ndjson' })
    const statuses = async (): Promise<JobStatus[]> => [await statusOf(app, one.job_id), await statusOf(app, two.job_id), await statusOf(app, three.job_id)]
    t.same(await statuses(), ['queued', 'queued', 'queued'], 'all accepted in queued')

    await clock.advance(200)
    t.same(await statuses(), ['validating', 'queued', 'queued'], 'only the first advances')
    t.equal(clock.pending, 1, 'the waiting jobs hold no timer')
    await clock.advance(599)
    t.same(await statuses(), ['pending_refresh', 'queued', 'queued'])
    await clock.advance(1)
    t.same(await statuses(), ['completed', 'validating', 'queued'], 'the second leaves queued when the first completes')
    await clock.advance(600)
    t.same(await statuses(), ['completed', 'completed', 'validating'])
    await clock.advance(600)
    t.same(await statuses(), ['completed', 'completed', 'completed'])
    t.equal(clock.pending, 0)

    const at = (ms: number) => CLOCK_START + ms
    t.same((await storedJob(app, one.job_id)).history, [
      { status: 'queued', at: at(0) }, { status: 'validating', at: at(200) }, { status: 'processing', at: at(400) },
      { status: 'pending_refresh', at: at(600) }, { status: 'completed', at: at(800) }
    ])
    t.same((await storedJob(app, two.job_id)).history, [
      { status: 'queued', at: at(0) }, { status: 'validating', at: at(800) }, { status: 'processing', at: at(1000) },
      { status: 'pending_refresh', at: at(1200) }, { status: 'completed', at: at(1400) }
    ])
    t.same((await storedJob(app, three.job_id)).history, [
      { status: 'queued', at: at(0) }, { status: 'validating', at: at(1400) }, { status: 'processing', at: at(1600) },
      { status: 'pending_refresh', at: at(1800) }, { status: 'completed', at: at(2000) }
    ])
    expectJob(t, await getJob(app, three.job_id), jobView(three, {
      status: 'completed', completed_rows: 1, elapsed_time: 2, end_time: new Date(at(2000)).toISOString()
    }))
  })

  t.test('the rows of the second job are applied only after the first completed', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const first = { users: [{ user_id: 'u1', company_id: 'c1', metadata: { plan: 'free', job: 1 } }, { user_id: 'u2', company_id: 'c1' }] }
    const second = { users: [{ user_id: 'u1', company_id: 'c2', metadata: { plan: 'pro', job: 2 } }, { user_id: 'u3' }] }
    const firstId = expectAcceptedJob(t, await bulkUsers(app, first), { type: 'users', totalRows: 2, fileSize: Buffer.byteLength(JSON.stringify(first)) }).job_id
    const secondId = expectAcceptedJob(t, await bulkUsers(app, second), { type: 'users', totalRows: 2, fileSize: Buffer.byteLength(JSON.stringify(second)) }).job_id
    const view = async () => (await app.mock.store.profiles.listUsers(TENANT, ALL)).map((user) => ({ id: user.userId, company: user.companyId, metadata: { ...user.metadata } }))

    await clock.advance(600)
    t.same(await view(), [
      { id: 'u1', company: 'c1', metadata: { plan: 'free', job: 1 } },
      { id: 'u2', company: 'c1', metadata: {} }
    ], 'the first job applied its rows while processing')
    const before = await view()
    await clock.advance(199)
    t.same([await statusOf(app, firstId), await statusOf(app, secondId)], ['pending_refresh', 'queued'])
    t.same(await view(), before, 'the first job is in pending_refresh, the second queued: nothing of it yet')
    await clock.advance(201)
    t.same([await statusOf(app, firstId), await statusOf(app, secondId)], ['completed', 'processing'])
    t.same(await view(), before, 'the second job has just started processing: nothing of it yet')
    await clock.advance(200)
    t.same(await view(), [
      { id: 'u1', company: 'c2', metadata: { plan: 'pro', job: 2 } },
      { id: 'u2', company: 'c1', metadata: {} },
      { id: 'u3', company: null, metadata: {} }
    ], 'then the second job’s rows, over the first’s')
    t.equal(await statusOf(app, secondId), 'pending_refresh')
  })

  t.test('10 requests at once: all accepted, run one at a time in the order they were stored', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => i % 2 === 0
      ? bulkUsers(app, { users: [{ user_id: `u${i}` }] })
      : bulkCompanies(app, { companies: [{ company_id: `c${i}` }] })))
    t.same(answers.map((res) => res.statusCode), Array(10).fill(202))
    const order = (await app.mock.store.listJobs(TENANT, ALL)).reverse().map((job) => job.jobId)
    t.equal(order.length, 10)
    await clock.runAll()
    for (const [index, jobId] of order.entries()) {
      const validating = (await storedJob(app, jobId)).history.find((change) => change.status === 'validating')
      t.equal(validating?.at, CLOCK_START + (index === 0 ? 200 : 800 + 600 * (index - 1)), `job ${index + 1} ran in its turn`)
    }
    t.equal(clock.now(), CLOCK_START + 800 + 600 * 9)
  })

  t.test('other keys run in parallel', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const mine = await acceptUsers(t, app)
    const theirs = await acceptUsers(t, app, CLOCK_START, 'other-key')
    await clock.advance(800)
    t.equal(await statusOf(app, mine.job_id), 'completed')
    t.equal((await storedJob(app, theirs.job_id, tenantOf('other-key').id)).status, 'completed')
  })

  t.test('a job failed by another mover lets the next one run', async (t) => {
    const { app, clock } = await testApp(t, { MOCK_CONCURRENCY: 'queue' })
    const one = await acceptUsers(t, app)
    const two = await acceptCompanies(t, app)
    await clock.advance(300)
    t.equal(await statusOf(app, two.job_id), 'queued')
    await app.mock.store.transitionJob(TENANT, one.job_id, 'validating', 'failed', clock.now())
    await clock.advance(10_000)
    t.equal(await statusOf(app, two.job_id), 'completed', 'the second job ran')
  })
})
