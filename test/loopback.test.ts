import t from 'tap'
import { startMock } from '../src/index.js'
import { connectHost, urlOf } from '../src/loopback.js'

function resourceCounts (): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1
  return counts
}

t.test('the accessors go over the socket, not inject (which Jest\'s CommonJS runtime cannot load before Node.js 24.9)', async (t) => {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  t.teardown(() => mock.close())
  mock.app.inject = (() => { throw new Error('inject used') }) as unknown as typeof mock.app.inject
  const view = mock.isolate()
  const res = await fetch(`${mock.url}/v1/users/bulk_identify`, { method: 'POST', headers: { ...view.headers, 'content-type': 'application/json' }, body: JSON.stringify({ users: [{ user_id: 'u1' }] }) })
  t.equal(res.status, 202)
  t.equal(await view.flush(), 1, 'a POST without a body')
  t.same((await view.users()).map((user) => user.user_id), ['u1'])
  t.equal((await view.addFault({ status: 503 }))[0]?.status, 503, 'a POST with a JSON body')
  await view.clearFaults()
  await view.reset()
  t.same(await view.jobs(), [])
})

t.test('a mock bound to every interface is reached over loopback', async (t) => {
  const mock = await startMock({ host: '0.0.0.0' })
  t.teardown(() => mock.close())
  t.same(await mock.jobs('k'), [])
  t.equal(connectHost('0.0.0.0'), '127.0.0.1')
  t.equal(connectHost('::'), '::1')
  t.equal(connectHost('127.0.0.1'), '127.0.0.1')
})

t.test('the kept-alive connections end with the mock: nothing is left after close()', async (t) => {
  await new Promise((resolve) => setImmediate(resolve))
  const before = resourceCounts()
  const mock = await startMock()
  for (let i = 0; i < 5; i++) await mock.users('k')
  await mock.close()
  // A closed socket's handle is released a turn or two of the event loop after close() resolves.
  for (let turn = 0; turn < 20 && JSON.stringify(resourceCounts()) !== JSON.stringify(before); turn++) {
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.same(resourceCounts(), before)
})

t.test('urlOf brackets an IPv6 host', async (t) => {
  t.equal(urlOf('127.0.0.1', 80), 'http://127.0.0.1:80')
  t.equal(urlOf('::1', 80), 'http://[::1]:80')
})
