import t from 'tap'
import { testApp } from '../helpers/app.js'

t.test('answers sent once closing has begun say Connection: close; earlier ones do not', async (t) => {
  const { app } = await testApp(t)
  let release = (): void => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let arrived = (): void => {}
  const inside = new Promise<void>((resolve) => { arrived = resolve })
  app.get('/held', async () => {
    arrived()
    await held
    return { ok: true }
  })
  const before = await app.inject({ method: 'GET', url: '/__mock/health' })
  t.not(before.headers.connection, 'close', 'an answer before closing keeps the connection')
  const inFlight = app.inject({ method: 'GET', url: '/held' })
  await inside
  const closed = app.close()
  // preClose has run once close() has started its hooks; let them run before the answer goes.
  await new Promise<void>((resolve) => setImmediate(resolve))
  release()
  const res = await inFlight
  await closed
  t.equal(res.statusCode, 200)
  t.equal(res.headers.connection, 'close', 'the request in flight during close is told to close its connection')
})
