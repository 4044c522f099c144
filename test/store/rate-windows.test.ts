import t from 'tap'
import { storeBackends } from '../helpers/store.js'

// The rate-window contract both backends keep: a sliding window of admissions per tenant and bucket.

const T0 = Date.parse('2025-05-19T07:29:12.000Z')

for (const backend of storeBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('admits up to the limit in a window, then says when the next one passes', async (t) => {
      const { rates } = await backend.create(t)
      t.equal(await rates.take('a', 'x', 3, 1000, T0), 0)
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 100), 0)
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 100), 0, 'two at the same time are both counted')
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 400), 600, 'full: the first admission leaves the window 600 ms later')
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 999), 1, 'a refusal is not counted')
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 1000), 0, 'the first one has left the window')
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 1050), 50, 'now the two at +100 are the oldest: out at +1100')
      t.equal(await rates.take('a', 'x', 3, 1000, T0 + 1100), 0)
    })

    t.test('tenants and buckets are counted apart', async (t) => {
      const { rates } = await backend.create(t)
      t.equal(await rates.take('a', 'x', 1, 2000, T0), 0)
      t.equal(await rates.take('a', 'y', 1, 2000, T0), 0, 'another bucket')
      t.equal(await rates.take('b', 'x', 1, 2000, T0), 0, 'another tenant')
      t.equal(await rates.take('a', 'x', 1, 2000, T0 + 500), 1500)
    })

    t.test('reset forgets the windows', async (t) => {
      const store = await backend.create(t)
      t.equal(await store.rates.take('a', 'x', 1, 2000, T0), 0)
      t.equal(await store.rates.take('b', 'x', 1, 2000, T0), 0)
      await store.reset('a')
      t.equal(await store.rates.take('a', 'x', 1, 2000, T0), 0, 'a starts over')
      t.equal(await store.rates.take('b', 'x', 1, 2000, T0), 2000, 'b does not')
      await store.reset(null)
      t.equal(await store.rates.take('b', 'x', 1, 2000, T0), 0)
    })
  })
}
