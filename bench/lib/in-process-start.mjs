// Run by bench/startup.ts in a child process of its own (plain node, the built library):
// how long `startMock()` takes to be ready in a test process, the first time (the
// library's modules loaded too) and again, and how long `reset()` takes between tests
// with a test's worth of state. Prints one JSON line.
// Run: node bench/lib/in-process-start.mjs [--starts 5] [--resets 20]
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { starts: { type: 'string', default: '5' }, resets: { type: 'string', default: '20' } } })
const since = (start) => performance.now() - start

const first = performance.now()
const { startMock } = await import('../../dist/src/index.js')
const importMs = since(first)
const cold = await startMock()
const coldMs = since(first)
await cold.close()

const warmMs = []
for (let i = 0; i < Number(values.starts); i++) {
  const start = performance.now()
  const mock = await startMock()
  warmMs.push(since(start))
  await mock.close()
}

// A test's worth of state per reset: a bulk job run to its end, identify and track calls.
const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
const headers = { authorization: 'Token bench-reset', 'content-type': 'application/json' }
const resetMs = []
for (let i = 0; i < Number(values.resets); i++) {
  const users = Array.from({ length: 100 }, (_, n) => ({ user_id: `u${n}`, metadata: { n, plan: 'pro' } }))
  await fetch(`${mock.url}/v1/users/bulk_identify`, { method: 'POST', headers, body: JSON.stringify({ users }) })
  for (let n = 0; n < 10; n++) {
    await fetch(`${mock.url}/v1/identify`, { method: 'POST', headers, body: JSON.stringify({ user_id: `r${n}`, metadata: { n } }) })
    await fetch(`${mock.url}/v1/track`, { method: 'POST', headers, body: JSON.stringify({ user_id: `r${n}`, event_name: 'clicked' }) })
  }
  await mock.flush('bench-reset')
  const start = performance.now()
  await mock.reset()
  resetMs.push(since(start))
}
await mock.close()
console.log(JSON.stringify({ importMs, coldMs, warmMs, resetMs }))
