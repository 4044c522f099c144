import t from 'tap'
import { storeBackends } from '../helpers/store.js'

// The content lookups both backends keep: per tenant and name, as set, detached, forgotten by reset.

const A = 'tenant-a'
const B = 'tenant-b'

for (const backend of storeBackends()) {
  t.test(backend.name, { skip: backend.skip }, async (t) => {
    t.test('empty until set; then the items as set, in order, per tenant and name', async (t) => {
      const store = await backend.create(t)
      t.strictSame(await store.lookups.get(A, 'segments'), [])
      t.strictSame(await store.listTenants(), [], 'reading makes no tenant')
      const segments = [
        { id: 101, title: 'Active Users', usage: 'all', category: 'user_id', is_hidden: false, is_protected: false, status: 'published' },
        { id: 102, title: 'Ünïcödé ✓ "quoted"\n', nested: { list: [1, null, { deep: true }], empty: {} }, score: 0.5 }
      ]
      await store.lookups.set(A, 'segments', segments)
      await store.lookups.set(A, 'flows', [{ id: 1 }])
      await store.lookups.set(B, 'segments', [{ id: 9 }])
      t.strictSame(await store.lookups.get(A, 'segments'), segments)
      t.strictSame(await store.lookups.get(A, 'flows'), [{ id: 1 }])
      t.strictSame(await store.lookups.get(A, 'banners'), [], 'another name')
      t.strictSame(await store.lookups.get(B, 'segments'), [{ id: 9 }], 'another tenant')
      t.strictSame((await store.listTenants()).sort(), [A, B], 'a lookup alone makes a tenant')
    })

    t.test('a set replaces the list; an empty list clears it', async (t) => {
      const store = await backend.create(t)
      await store.lookups.set(A, 'surveys', [{ id: 1 }, { id: 2 }])
      await store.lookups.set(A, 'surveys', [{ id: 3 }])
      t.strictSame(await store.lookups.get(A, 'surveys'), [{ id: 3 }])
      await store.lookups.set(A, 'surveys', [])
      t.strictSame(await store.lookups.get(A, 'surveys'), [])
    })

    t.test('detached: changing what was set or read changes nothing kept', async (t) => {
      const store = await backend.create(t)
      const items = [{ id: 1, tags: ['a'] }]
      await store.lookups.set(A, 'embeds', items)
      items[0]?.tags.push('b')
      items.push({ id: 2, tags: [] })
      const read = await store.lookups.get(A, 'embeds')
      ;(read[0] as { tags: string[] }).tags.push('c')
      t.strictSame(await store.lookups.get(A, 'embeds'), [{ id: 1, tags: ['a'] }])
    })

    t.test('reset forgets one tenant\'s lookups, or every tenant\'s', async (t) => {
      const store = await backend.create(t)
      for (const tenant of [A, B]) {
        await store.lookups.set(tenant, 'checklists', [{ id: tenant }])
        await store.lookups.set(tenant, 'resource_center_modules', [{ id: tenant }])
      }
      await store.reset(A)
      t.strictSame(await store.lookups.get(A, 'checklists'), [])
      t.strictSame(await store.lookups.get(A, 'resource_center_modules'), [])
      t.strictSame(await store.lookups.get(B, 'checklists'), [{ id: B }], 'the other tenant keeps its own')
      t.strictSame(await store.listTenants(), [B])
      await store.reset(null)
      t.strictSame(await store.lookups.get(B, 'checklists'), [])
      t.strictSame(await store.lookups.get(B, 'resource_center_modules'), [])
      t.strictSame(await store.listTenants(), [])
    })

    t.test('ten thousand items come back whole', async (t) => {
      const store = await backend.create(t)
      const items = Array.from({ length: 10_000 }, (_, i) => ({ id: i, title: `Spotlight ${i}` }))
      await store.lookups.set(A, 'spotlights', items)
      t.strictSame(await store.lookups.get(A, 'spotlights'), items)
    })
  })
}
