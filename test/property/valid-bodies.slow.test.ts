import t, { type Test } from 'tap'
import fc from 'fast-check'
import { deepStrictEqual, equal } from 'node:assert/strict'
import type { MetadataMode } from '../../schemas/bulk.js'
import { MockCompany, MockJob, MockUser } from '../../schemas/control.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { tenantOf } from '../../src/tenant.js'
import { assertSchema, testApp, type TestApp } from '../helpers/app.js'
import { control } from '../helpers/http.js'
import {
  anyId, companyRow, metadataMode, mustMatch, pooledId, readAll, runSettings, scaledRuns, sendRows, transport, userRow, wire,
  type Collection, type Transport, type WireCompany, type WireMetadata, type WireUser
} from './arbitraries.js'

// Property: any valid body of either endpoint, in either metadata mode and either
// transport, gets a 202; once its job has run, the store holds exactly its rows,
// merged as SPEC 1.7 says (later rows win, null removes), with company user counts
// derived from the users.

const KEY = 'property-valid-bodies'
const ENV = tenantOf(KEY).envId
const RUNS = runSettings(40)

/** One app per metadata mode, reused across runs (each run starts with a reset). */
function appsFor (t: Test): (mode: MetadataMode) => Promise<TestApp> {
  const apps = new Map<MetadataMode, Promise<TestApp>>()
  return async (mode) => {
    let app = apps.get(mode)
    if (app === undefined) {
      app = testApp(t, { MOCK_CLOCK: 'manual', MOCK_METADATA: mode })
      apps.set(mode, app)
    }
    return await app
  }
}

/** What one request leaves in an empty store: first-seen order, last company_id given, metadata merged row by row. */
function fold (body: ReadonlyArray<WireUser | WireCompany>, idOf: (row: WireUser & WireCompany) => string): Map<string, { company_id: string | null, metadata: Map<string, unknown> }> {
  const store = new Map<string, { company_id: string | null, metadata: Map<string, unknown> }>()
  for (const row of body as Array<WireUser & WireCompany>) {
    const id = idOf(row)
    const entry = store.get(id) ?? { company_id: null, metadata: new Map() }
    store.set(id, entry)
    if ('user_id' in row && row.company_id !== undefined) entry.company_id = row.company_id
    for (const [key, value] of Object.entries(row.metadata ?? {} as WireMetadata)) {
      if (value === null) entry.metadata.delete(key)
      else entry.metadata.set(key, value)
    }
  }
  return store
}

interface Sample {
  mode: MetadataMode
  how: Transport
  users: WireUser[]
  companies: WireCompany[]
  companiesFirst: boolean
}

/** Bodies of both endpoints sharing company ids, so that user counts mean something. */
function samples (maxRows: number, minRows = 1, maxCompanies = maxRows): fc.Arbitrary<Sample> {
  return fc.tuple(metadataMode, transport, fc.boolean()).chain(([mode, how, companiesFirst]) => {
    const companyId = fc.oneof(pooledId('c'), anyId)
    return fc.record({
      mode: fc.constant(mode),
      how: fc.constant(how),
      companiesFirst: fc.constant(companiesFirst),
      users: fc.array(userRow({ mode, userId: fc.oneof(pooledId('u'), anyId), companyId }), { minLength: minRows, maxLength: maxRows }),
      companies: fc.array(companyRow({ mode, companyId }), { minLength: 1, maxLength: maxCompanies })
    })
  })
}

/** Sends one body, checks the 202 in full, runs the job to its end; returns the job id. */
async function submit (app: TestApp, into: Collection, body: ReadonlyArray<WireUser | WireCompany>, how: Transport): Promise<string> {
  const sent = await sendRows(app.app, KEY, into, body, how)
  equal(sent.res.statusCode, 202, `${into}: ${sent.res.body.slice(0, 300)}`)
  const accepted = sent.res.json() as JobAccepted
  mustMatch(JobAccepted, accepted, 'the 202 body')
  const uuid = accepted.job_id.split(':').at(-1) as string
  deepStrictEqual({ ...accepted, job_id: '', links: '' }, {
    job_id: '',
    status: 'queued',
    total_rows: body.length,
    file_size: sent.fileSize,
    filename: sent.filename ?? `bulk_identify_${into}_${uuid}.json`,
    type: into,
    links: '',
    start_time: new Date(app.clock.now()).toISOString(),
    submitted_at: new Date(app.clock.now()).toISOString(),
    end_time: null
  })
  equal(accepted.job_id, `bulk:jobs:${ENV}:${uuid}`)
  const flushed = await control(app.app, 'POST', '/clock/flush', { key: KEY })
  deepStrictEqual(flushed.json(), { finished: 1, deleted: { users: 0, companies: 0 } })
  return accepted.job_id
}

/** `page`: the page size the store is read back with (small ones exercise pagination). */
async function checkSample (app: TestApp, sample: Sample, page: number): Promise<void> {
  const reset = await control(app.app, 'POST', '/reset', { key: KEY })
  equal(reset.statusCode, 200)
  const order: Array<[Collection, ReadonlyArray<WireUser | WireCompany>]> = [['users', sample.users], ['companies', sample.companies]]
  if (sample.companiesFirst) order.reverse()
  const jobIds: Record<string, string> = {}
  for (const [into, body] of order) jobIds[into] = await submit(app, into, body, sample.how)

  const now = new Date(app.clock.now()).toISOString()
  const users = fold(sample.users, (row) => row.user_id)
  const companies = fold(sample.companies, (row) => row.company_id)
  const storedUsers = await readAll(app.app, KEY, 'users', page)
  for (const user of storedUsers) mustMatch(MockUser, user, 'a stored user')
  deepStrictEqual(storedUsers, wire([...users].map(([id, entry]) => ({
    key_id: ENV, user_id: id, company_id: entry.company_id, metadata: Object.fromEntries(entry.metadata), created_at: now, updated_at: now, last_touched_by: { type: 'job', id: jobIds.users }, last_job_id: jobIds.users, deletion_scheduled_at: null
  }))), 'the users, in first-seen order, merged')
  const storedCompanies = await readAll(app.app, KEY, 'companies', page)
  for (const company of storedCompanies) mustMatch(MockCompany, company, 'a stored company')
  deepStrictEqual(storedCompanies, wire([...companies].map(([id, entry]) => ({
    key_id: ENV,
    company_id: id,
    metadata: Object.fromEntries(entry.metadata),
    user_count: [...users.values()].filter((user) => user.company_id === id).length,
    created_at: now,
    updated_at: now,
    last_touched_by: { type: 'job', id: jobIds.companies },
    last_job_id: jobIds.companies,
    deletion_scheduled_at: null
  }))), 'the companies, merged, with their user counts')
  const jobs = await readAll(app.app, KEY, 'jobs') as MockJob[]
  for (const job of jobs) mustMatch(MockJob, job, 'a job')
  deepStrictEqual(jobs.map((job) => [job.type, job.status, job.completed_rows, job.total_rows]), order.reverse().map(([into, body]) => [into, 'completed', body.length, body.length]))
}

t.test('random valid bodies: 202, and the store holds exactly their rows, merged', async (t) => {
  const appOf = appsFor(t)
  let checked = 0
  await fc.assert(fc.asyncProperty(samples(12), async (sample) => {
    await checkSample(await appOf(sample.mode), sample, 7)
    checked++
  }), RUNS)
  t.ok(checked >= (RUNS.numRuns as number), `${checked} samples checked (numRuns ${RUNS.numRuns as number})`)
  // The property checks schemas by throwing; one tap-visible check of the last state as well.
  const app = await appOf('primitives')
  for (const user of await readAll(app.app, KEY, 'users')) assertSchema(t, MockUser, user)
})

t.test('now and then a large body (500 to 2,000 users)', async (t) => {
  const appOf = appsFor(t)
  const runs = scaledRuns(40, 0.1)
  let checked = 0
  await fc.assert(fc.asyncProperty(samples(2000, 500, 50), async (sample) => {
    await checkSample(await appOf(sample.mode), sample, 1000)
    checked++
  }), { ...RUNS, numRuns: runs, endOnFailure: true })
  t.equal(checked, runs, `${checked} large samples checked`)
})

// Counterexamples the properties found (bugs since fixed), kept as plain examples.

t.test('a metadata key with a line break is shown by the control API as stored', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual', MOCK_METADATA: 'strings' })
  // As fast-check shrank it (seed -877960298): strings mode, users [{u1, {"\n\u0000": ""}}, {" "}].
  const sent = await sendRows(app, KEY, 'users', [{ user_id: 'u1', metadata: { '\n\u0000': '' } }, { user_id: ' ' }])
  t.equal(sent.res.statusCode, 202)
  await control(app, 'POST', '/clock/flush', { key: KEY })
  const keys = ['line\nfeed', 'carriage\rreturn', 'line\u2028separator', 'paragraph\u2029separator']
  t.equal((await sendRows(app, KEY, 'companies', [{ company_id: 'c1', metadata: Object.fromEntries(keys.map((key) => [key, 'v'])) }])).res.statusCode, 202)
  await control(app, 'POST', '/clock/flush', { key: KEY })
  t.same({ ...(await app.mock.store.profiles.getUser(tenantOf(KEY).id, 'u1'))?.metadata }, { '\n\u0000': '' }, 'the store has the key')
  t.same((await control(app, 'GET', '/users/u1', { key: KEY })).json().metadata, { '\n\u0000': '' }, 'GET /__mock/users/u1 shows it')
  t.same(((await readAll(app, KEY, 'users'))[0] as MockUser).metadata, { '\n\u0000': '' }, 'GET /__mock/users shows it')
  t.same((await control(app, 'GET', '/companies/c1', { key: KEY })).json().metadata, Object.fromEntries(keys.map((key) => [key, 'v'])), 'each line terminator')
})

t.test('a metadata key of 200 characters is accepted (SPEC 1.2: keys of 1–255 characters)', async (t) => {
  const { app } = await testApp(t, { MOCK_CLOCK: 'manual' })
  const key = '😀'.repeat(200)
  t.equal([...key].length, 200, '200 characters (code points)')
  t.equal(key.length, 400, 'in 400 UTF-16 units')
  const sent = await sendRows(app, KEY, 'users', [{ user_id: 'u1', metadata: { [key]: 'x' } }])
  t.equal(sent.res.statusCode, 202, sent.res.body.slice(0, 200))
})
