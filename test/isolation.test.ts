import t, { type Test } from 'tap'
import { connectMock, MockControlError, startMock, type IsolatedMock, type MockServer, type StartMockOptions } from '../src/index.js'
import { freshKey, isolateMock } from '../src/isolation.js'

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}'

async function started (t: Test, options?: StartMockOptions): Promise<MockServer> {
  const mock = await startMock(options)
  t.teardown(() => mock.close())
  return mock
}

/** What the client under test would do: a bulk users request with the view's URL and headers; returns the job id. */
async function submit (view: IsolatedMock, rows: Array<Record<string, unknown>>): Promise<{ status: number, jobId?: string }> {
  const res = await fetch(`${view.url}/v1/users/bulk_identify`, {
    method: 'POST',
    headers: { ...view.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ users: rows })
  })
  const body = await res.json() as { job_id?: string }
  return { status: res.status, jobId: body.job_id }
}

async function submitted (view: IsolatedMock, rows: Array<Record<string, unknown>>): Promise<string> {
  const { status, jobId } = await submit(view, rows)
  if (status !== 202) throw new Error(`bulk request answered ${status}`)
  return jobId as string
}

t.test('a view has a fresh random key, its header and the mock\'s URL', async (t) => {
  const mock = await started(t)
  const view = mock.isolate()
  t.match(view.key, new RegExp(`^test-${UUID}$`), 'test-<random UUID>')
  t.same(view.headers, { authorization: `Token ${view.key}` })
  t.equal(view.url, mock.url)
  t.not(mock.isolate().key, view.key, 'every view its own key')
  t.match(mock.isolate({ prefix: 'checkout' }).key, new RegExp(`^checkout-${UUID}$`))
  t.equal(mock.isolate({ key: 'given' }).key, 'given', 'or the key given')
  t.ok(Object.isFrozen(view) && Object.isFrozen(view.headers), 'frozen')
  t.match(freshKey(), new RegExp(`^test-${UUID}$`))
})

t.test('a view has every accessor of the mock, with its key bound', async (t) => {
  const mock = await started(t)
  const accessors = Object.keys(mock).filter((name) => !['url', 'port', 'app', 'close', 'isolate'].includes(name)).sort()
  const bound = Object.keys(mock.isolate()).filter((name) => !['key', 'headers', 'url'].includes(name)).sort()
  t.same(bound, accessors)
  t.ok(accessors.length >= 12)
})

t.test('two views never see each other\'s state', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const a = mock.isolate()
  const b = mock.isolate()
  const jobA = await submitted(a, [{ user_id: 'same', metadata: { who: 'a' } }])
  const jobB = await submitted(b, [{ user_id: 'same', metadata: { who: 'b' } }, { user_id: 'only-b' }])

  t.same((await a.jobs()).map((job) => job.job_id), [jobA])
  t.equal(await a.job(jobB), undefined, 'the other view\'s job is not found')
  t.equal((await a.job(jobA))?.status, 'queued')
  const refused = await a.advance(jobB).catch((error: unknown) => error)
  t.ok(refused instanceof MockControlError && refused.statusCode === 404, 'nor can it be advanced')

  t.equal(await a.flush(), 1, 'flush runs this view\'s jobs only')
  t.equal((await b.job(jobB))?.status, 'queued', 'the other view\'s job waits')
  t.same((await a.users()).map((user) => [user.user_id, user.metadata]), [['same', { who: 'a' }]])
  t.same(await b.users(), [], 'nothing applied for the other view')
  t.equal((await a.user('same'))?.metadata.who, 'a')
  t.equal(await a.user('only-b'), undefined)

  t.equal((await b.advance(jobB, 'completed')).status, 'completed')
  t.same((await b.users({ companyId: 'none' })), [])
  t.equal((await b.user('same'))?.metadata.who, 'b', 'same user id, its own profile')
  t.equal((await b.fail(await submitted(b, [{ user_id: 'x' }]))).status, 'failed')
  t.same(await a.companies(), [])

  t.same((await a.requests()).map((entry) => entry.key_id), [(await a.job(jobA))?.key_id], 'the journal of this view only')
  t.equal((await b.requests()).length, 2)

  await a.addFault({ status: 503 })
  t.equal((await submit(b, [{ user_id: 'y' }])).status, 202, 'a fault of one view does not touch the other')
  t.equal((await submit(a, [{ user_id: 'y' }])).status, 503)
  await a.addFault([{ status: 429 }])
  await a.clearFaults()
  t.equal((await submit(a, [{ user_id: 'z' }])).status, 202, 'cleared')

  await a.reset()
  t.same([await a.jobs(), await a.users(), await a.requests()], [[], [], []], 'reset forgets this view')
  t.equal((await b.users()).length, 2, 'and only this view')
})

t.test('many views at once: each sees exactly its own, none is refused for another\'s running job', async (t) => {
  // The default MOCK_CONCURRENCY=reject: a second job of one key while its first runs is 409.
  // With the manual clock every job stays pending until its view flushes it.
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const views = Array.from({ length: 20 }, (_, i) => mock.isolate({ prefix: `file${i}` }))
  const jobIds = await Promise.all(views.map(async (view, i) => await submitted(view, [{ user_id: 'shared-id', metadata: { i } }])))
  t.equal((await mock.jobs(views[0]?.key as string)).length, 1, 'twenty jobs pending at once, one per key')
  await Promise.all(views.map(async (view, i) => {
    const jobId = jobIds[i] as string
    t.equal(await view.flush(), 1, 'its own job only')
    t.same((await view.jobs()).map((job) => [job.job_id, job.status]), [[jobId, 'completed']])
    t.same((await view.users()).map((user) => user.metadata), [{ i }])
  }))
  t.equal((await mock.users(views[0]?.key as string)).length, 1, 'the view\'s key is a key like any other')
})

t.test('a mock that accepts only MOCK_API_KEYS: a random key is refused up front, a given one works', async (t) => {
  const mock = await started(t, { config: { MOCK_API_KEYS: 'k1,k2', MOCK_CLOCK: 'manual' } })
  t.throws(() => mock.isolate(), /accepts only the keys in MOCK_API_KEYS: pass one of them, isolate\(\{ key \}\)/)
  const view = mock.isolate({ key: 'k2' })
  await submitted(view, [{ user_id: 'u1' }])
  t.equal(await view.flush(), 1)
  t.equal((await view.users()).length, 1)
  t.throws(() => isolateMock(mock, {}, false), /MOCK_API_KEYS/)
})

t.test('views of a mock reached over HTTP', async (t) => {
  const mock = await started(t, { config: { MOCK_CLOCK: 'manual' } })
  const client = connectMock(mock.url)
  const a = client.isolate()
  const b = client.isolate({ prefix: 'b' })
  t.equal(a.url, mock.url)
  await submitted(a, [{ user_id: 'u1' }])
  t.equal(await b.flush(), 0)
  t.equal(await a.flush(), 1)
  t.same((await a.users()).map((user) => user.user_id), ['u1'])
  t.same(await b.users(), [])
  t.same(await mock.users(a.key), await a.users(), 'the same state as the in-process accessor sees')
})
