import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ownServerSkipReason, startMockProcess, startRedisServer, testPrefix, waitFor, withPrefix } from '../helpers/redis.js'

// State in Redis outlives the mock: a new mock process on the same Redis sees
// what the last one stored; with AOF persistence on, a restart of Redis too.

t.setTimeout(300_000)

const KEY = 'restart-key'

async function get (base: string, path: string): Promise<{ status: number, body: unknown }> {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Token ${KEY}` } })
  return { status: res.status, body: await res.json() }
}

t.test('a restart of the mock, then of Redis with AOF on', { skip: ownServerSkipReason() }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'userpilot-mock-aof-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const redis = await startRedisServer(t, { appendOnlyDir: dir })
  const args = ['--store', withPrefix(redis.url, testPrefix()), '--stage-ms', '20']

  const first = await startMockProcess(t, args)
  const res = await fetch(`${first.url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { authorization: `Token ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ users: [{ user_id: 'kept', company_id: 'acme', metadata: { plan: 'pro' } }] })
  })
  t.equal(res.status, 202)
  const { job_id: jobId } = await res.json() as { job_id: string }
  const status = async (): Promise<string> => ((await get(first.url, `/v1/background_jobs/${encodeURIComponent(jobId)}`)).body as { status: string }).status
  await waitFor('the job to complete', async () => await status() === 'completed')
  t.equal(await first.stop(), 0, 'the first mock exits cleanly')

  const second = await startMockProcess(t, args)
  const expected = { user_id: 'kept', company_id: 'acme', metadata: { plan: 'pro' }, last_job_id: jobId }
  t.match((await get(second.url, '/__mock/users/kept')).body, expected, 'a new mock process sees the stored user')
  t.match((await get(second.url, `/v1/background_jobs/${encodeURIComponent(jobId)}`)).body, { status: 'completed', completed_rows: 1 }, 'and the job')

  await redis.stop('SIGTERM')
  const during = await get(second.url, '/__mock/users/kept')
  t.equal(during.status, 503, 'Redis away: 503, the mock stays up')
  await redis.start()
  await waitFor('the mock to reach Redis again', async () => (await get(second.url, '/__mock/users/kept')).status === 200)
  t.match((await get(second.url, '/__mock/users/kept')).body, expected, 'the user survived the Redis restart (AOF)')
  t.match((await get(second.url, '/__mock/jobs')).body, [{ job_id: jobId, status: 'completed' }], 'and so did the job')
  t.equal(second.process.exitCode, null, 'the mock never crashed')
})
