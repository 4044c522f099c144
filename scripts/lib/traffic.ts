/** A random source: a float in [0, 1). */
export type Random = () => number

/** mulberry32: a small seeded generator, so one seed replays the same traffic. */
export function seededRandom (seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A whole number in [min, max]. */
export function between (random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1))
}

/** One entry of `weights`, chosen in proportion to its weight. */
export function pickWeighted<T extends string> (random: Random, weights: Readonly<Record<T, number>>): T {
  const entries = Object.entries(weights) as Array<[T, number]>
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0)
  let roll = random() * total
  for (const [name, weight] of entries) {
    roll -= weight
    if (roll < 0) return name
  }
  // Only reached through float rounding at the very top of the range.
  return (entries[entries.length - 1] as [T, number])[0]
}

const PLANS = ['free', 'pro', 'growth', 'enterprise'] as const

/**
 * A users bulk body of `rows` rows whose ids come from a pool of `pool` ids:
 * repeated ids update profiles instead of adding them, so the store grows to
 * the pool's size and then stays there. Metadata values come from small sets
 * for the same reason; a few rows remove a property with `null`.
 */
export function usersBody (random: Random, rows: number, pool: number): { users: Array<{ user_id: string, company_id: string, metadata: Record<string, string | number | boolean | null> }> } {
  const companies = Math.max(1, Math.floor(pool / 4))
  return {
    users: Array.from({ length: rows }, () => {
      const id = between(random, 0, pool - 1)
      return {
        user_id: `user-${id}`,
        company_id: `company-${between(random, 0, companies - 1)}`,
        metadata: {
          name: `User ${id}`,
          email: `user-${id}@example.com`,
          plan: PLANS[between(random, 0, PLANS.length - 1)] as string,
          seats: between(random, 1, 500),
          active: random() < 0.5,
          trial: random() < 0.1 ? null : 'no'
        }
      }
    })
  }
}

/** A companies bulk body drawn from a quarter of the user pool (the ids users belong to). */
export function companiesBody (random: Random, rows: number, pool: number): { companies: Array<{ company_id: string, metadata: Record<string, string | number> }> } {
  const companies = Math.max(1, Math.floor(pool / 4))
  return {
    companies: Array.from({ length: rows }, () => {
      const id = between(random, 0, companies - 1)
      return { company_id: `company-${id}`, metadata: { name: `Company ${id}`, plan: PLANS[between(random, 0, PLANS.length - 1)] as string, employees: between(random, 1, 10_000) } }
    })
  }
}

/** Bodies the mock must refuse with a 4xx, never a 5xx: each with the status it should get. */
export const INVALID_BODIES: ReadonlyArray<{ body: string, status: number, what: string }> = [
  { body: '{"users": [', status: 400, what: 'malformed JSON' },
  { body: '{"users": []}', status: 400, what: 'empty users' },
  { body: '{"users": [{"company_id": "c"}]}', status: 400, what: 'missing user_id' },
  { body: '{"users": [{"user_id": "u", "metadata": {"tags": ["a"]}}]}', status: 400, what: 'an array in metadata' },
  { body: '{"users": [{"user_id": "u", "metadata": {"": 1}}]}', status: 400, what: 'an empty metadata key' },
  { body: '[]', status: 400, what: 'not an object' }
]
