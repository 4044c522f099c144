import t from 'tap'
import { between, companiesBody, INVALID_BODIES, pickWeighted, seededRandom, usersBody } from '../../scripts/lib/traffic.js'

t.test('seededRandom: the same seed replays the same values, all in [0, 1)', async (t) => {
  const a = seededRandom(42)
  const b = seededRandom(42)
  const values = Array.from({ length: 1000 }, () => a())
  t.same(values, Array.from({ length: 1000 }, () => b()))
  t.ok(values.every((value) => value >= 0 && value < 1))
  t.not(seededRandom(43)(), seededRandom(42)(), 'another seed, another sequence')
})

t.test('between: whole numbers within the bounds, both ends reachable', async (t) => {
  const random = seededRandom(1)
  const seen = new Set(Array.from({ length: 500 }, () => between(random, 3, 6)))
  t.same([...seen].sort(), [3, 4, 5, 6])
  t.equal(between(() => 0.999999, 1, 1000), 1000)
  t.equal(between(() => 0, 1, 1000), 1)
})

t.test('pickWeighted: in proportion to the weights, never a zero weight', async (t) => {
  const random = seededRandom(7)
  const counts = { a: 0, b: 0, never: 0 }
  for (let i = 0; i < 4000; i++) counts[pickWeighted(random, { a: 3, b: 1, never: 0 })]++
  t.equal(counts.never, 0)
  t.ok(counts.a > counts.b * 2.5 && counts.a < counts.b * 3.5, `about 3:1 (${counts.a}:${counts.b})`)
  t.equal(pickWeighted(() => 0, { x: 1, y: 1 }), 'x')
  t.equal(pickWeighted(() => 0.75, { x: 1, y: 1 }), 'y')
  t.equal(pickWeighted(() => 1, { x: 1, y: 1 }), 'y', 'the top of the range falls on the last entry')
})

t.test('usersBody: the asked row count, ids from the pool, valid rows', async (t) => {
  const body = usersBody(seededRandom(3), 500, 20)
  t.equal(body.users.length, 500)
  const ids = new Set(body.users.map((row) => row.user_id))
  t.ok(ids.size <= 20, 'ids repeat within the pool')
  t.ok([...ids].every((id) => /^user-(1?\d)$/.test(id)))
  t.ok(body.users.every((row) => /^company-[0-4]$/.test(row.company_id)), 'companies: a quarter of the pool')
  t.ok(body.users.some((row) => row.metadata.trial === null), 'some rows remove a property')
  t.ok(body.users.every((row) => Object.values(row.metadata).every((value) => value === null || ['string', 'number', 'boolean'].includes(typeof value))))
  t.equal(usersBody(seededRandom(3), 1, 1).users[0]?.company_id, 'company-0', 'a pool of one still has a company')
})

t.test('companiesBody: ids from a quarter of the pool', async (t) => {
  const body = companiesBody(seededRandom(5), 300, 40)
  t.equal(body.companies.length, 300)
  t.ok(body.companies.every((row) => /^company-\d$/.test(row.company_id)))
  t.match(body.companies[0], { metadata: { name: String, plan: String, employees: Number } })
  t.equal(companiesBody(seededRandom(5), 2, 1).companies.length, 2)
})

t.test('INVALID_BODIES: each one is a 4xx with a reason', async (t) => {
  t.ok(INVALID_BODIES.length >= 5)
  for (const invalid of INVALID_BODIES) {
    t.ok(invalid.status >= 400 && invalid.status < 500, invalid.what)
  }
})
