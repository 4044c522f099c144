import t from 'tap'
import { Redis } from 'ioredis'
import type { MockUser } from '../../schemas/control.js'
import { ownServerSkipReason, redisSkipReason, sharedRedisUrl, startMockProcess, testPrefix, waitFor, withPrefix } from '../helpers/redis.js'

// Two mock processes on one Redis, as behind a load balancer: requests
// spread over both, status read from the other one, the one-job rule held
// across them, and a replica SIGKILLed in the middle of a 10,000-row job
// whose job still completes through the survivor with every row applied once.

// Starting two processes under the TypeScript loader takes a while on a busy machine.
t.setTimeout(300_000)

const ROWS = 10_000
/** 10,000 rows in about 6 s of processing: long enough to kill a replica in the middle. */
const ROWS_PER_MIN = 100_000

interface JobView { job_id: string, status: string, completed_rows: number, total_rows: number }

async function call (base: string, key: string, path: string, init: { method?: string, body?: unknown } = {}): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Token ${key}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) })
  })
  return { status: res.status, body: await res.json() }
}

async function job (base: string, key: string, jobId: string): Promise<JobView> {
  return (await call(base, key, `/v1/background_jobs/${encodeURIComponent(jobId)}`)).body as JobView
}

async function allUsers (base: string, key: string): Promise<MockUser[]> {
  const users: MockUser[] = []
  for (let page: MockUser[] = []; users.length === 0 || page.length === 1000;) {
    page = (await call(base, key, `/__mock/users?limit=1000&offset=${users.length}`)).body as MockUser[]
    users.push(...page)
    if (page.length === 0) break
  }
  return users
}

t.test('two replicas on one Redis', { skip: redisSkipReason() || ownServerSkipReason() }, async (t) => {
  const prefix = testPrefix()
  const store = withPrefix(await sharedRedisUrl(), prefix)
  const redis = new Redis(await sharedRedisUrl())
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  const args = ['--store', store, '--stage-ms', '100', '--rows-per-min', String(ROWS_PER_MIN), '--rate-limits', 'docs']
  const a = await startMockProcess(t, args)
  const b = await startMockProcess(t, args)

  t.test('bulk requests spread over both, each status read from the other', async (t) => {
    const accepted: Array<{ key: string, jobId: string, reader: string }> = []
    for (let i = 0; i < 6; i++) {
      const [writer, reader] = i % 2 === 0 ? [a, b] : [b, a]
      const key = `spread-${prefix}-${i}`
      const res = await call(writer.url, key, '/v1/users/bulk_identify', { method: 'POST', body: { users: [{ user_id: `u${i}`, metadata: { i } }] } })
      t.equal(res.status, 202)
      accepted.push({ key, jobId: (res.body as JobView).job_id, reader: reader.url })
    }
    for (const { key, jobId, reader } of accepted) {
      await waitFor(`job ${jobId}`, async () => (await job(reader, key, jobId)).status === 'completed')
      t.match(await job(reader, key, jobId), { status: 'completed', completed_rows: 1, total_rows: 1 })
    }
    const fromA = (await call(a.url, `spread-${prefix}-1`, '/__mock/users/u1')).body
    t.match(fromA, { user_id: 'u1', metadata: { i: 1 } }, 'written through B, read through A')
  })

  t.test('MOCK_RATE_LIMITS=docs holds across replicas: one delete per 2 s, 600 identify calls a minute', async (t) => {
    const key = `rate-${prefix}`
    t.equal((await call(a.url, key, '/v1/users', { method: 'DELETE', body: { users: ['u1'] } })).status, 202, 'a delete through A')
    const second = await call(b.url, key, '/v1/users', { method: 'DELETE', body: { users: ['u1'] } })
    t.equal(second.status, 429, 'the next one through B is refused')
    t.match(second.body, { errors: [{ error_code: 'rate_limited' }] })
    const statuses: number[] = []
    for (let i = 0; i < 600; i += 50) {
      // Fifty at a time, alternating replicas: both count in the same Redis window.
      const replica = (i / 50) % 2 === 0 ? a : b
      statuses.push(...await Promise.all(Array.from({ length: 50 }, async (_, j) => (await call(replica.url, key, '/v1/identify', { method: 'POST', body: { user_id: `u${i + j}` } })).status)))
    }
    t.strictSame([...new Set(statuses)], [202], '600 identify calls spread over both pass')
    t.equal((await call(a.url, key, '/v1/identify', { method: 'POST', body: { user_id: 'x' } })).status, 429, 'the 601st is refused by A…')
    t.equal((await call(b.url, key, '/v1/companies/identify', { method: 'POST', body: { company_id: 'x' } })).status, 429, '…and by B')
  })

  t.test('SIGKILL of the replica carrying a 10,000-row job: the other one completes it, every row once', async (t) => {
    const key = `big-${prefix}`
    const users = Array.from({ length: ROWS }, (_, i) => ({ user_id: `user-${i}`, company_id: `c${i % 7}`, metadata: { n: i, half: i < ROWS / 2 } }))
    const res = await call(a.url, key, '/v1/users/bulk_identify', { method: 'POST', body: { users } })
    t.equal(res.status, 202)
    const jobId = (res.body as JobView).job_id

    const conflict = await call(b.url, key, '/v1/users/bulk_identify', { method: 'POST', body: { users: [{ user_id: 'x' }] } })
    t.equal(conflict.status, 409, 'one job at a time, across replicas')
    t.match(conflict.body, { errors: [{ error_code: 'job_in_progress' }] })

    await waitFor('processing under way', async () => {
      const view = await job(b.url, key, jobId)
      return view.status === 'processing' && view.completed_rows > 0
    }, 20_000, 20)
    const owners = await Promise.all((await redis.keys(`${prefix}t:*:lease:*`)).map(async (lease) => await redis.get(lease)))
    t.equal(owners.length, 1, 'one lease')
    // Normally the replica that took the request; on a starved machine its lease may lapse
    // and the other take the job over before this look. Either way, the owner is killed.
    const [owner, survivor] = String(owners[0]).includes(`:${a.process.pid as number}:`) ? [a, b] : [b, a]
    t.match(owners[0], `:${owner.process.pid as number}:`, 'held by one of the two replicas')

    await owner.stop('SIGKILL')
    const atKill = await job(survivor.url, key, jobId)
    t.ok(atKill.completed_rows > 0 && atKill.completed_rows < ROWS, `killed in the middle (${atKill.completed_rows} of ${ROWS} rows applied)`)

    await waitFor('the job to complete through the survivor', async () => (await job(survivor.url, key, jobId)).status === 'completed', 30_000, 100)
    t.match(await job(survivor.url, key, jobId), { status: 'completed', completed_rows: ROWS, total_rows: ROWS })

    const stored = await allUsers(survivor.url, key)
    t.equal(stored.length, ROWS, 'every user exists')
    t.equal(new Set(stored.map((user) => user.user_id)).size, ROWS, 'each once')
    const wrong = stored.filter((user) => {
      const n = Number(user.user_id.slice('user-'.length))
      return user.metadata.n !== n || user.metadata.half !== (n < ROWS / 2) || user.company_id !== `c${n % 7}` || user.last_job_id !== jobId
    })
    t.same(wrong, [], 'each with its own metadata and company')
    const companies = (await call(survivor.url, key, '/__mock/companies?limit=1000')).body as Array<{ user_count: number }>
    t.same(companies, [], 'a users job creates no company records')
    const history = (await call(survivor.url, key, `/__mock/jobs/${encodeURIComponent(jobId)}`)).body as { history: Array<{ status: string }> }
    t.same(history.history.map((change) => change.status), ['queued', 'validating', 'processing', 'pending_refresh', 'completed'], 'each status once')
    t.same(await redis.keys(`${prefix}t:*:lease:*`), [], 'no lease left behind')

    const next = await call(survivor.url, key, '/v1/users/bulk_identify', { method: 'POST', body: { users: [{ user_id: 'after' }] } })
    t.equal(next.status, 202, 'the key takes a new job')
  })
})
