import { SEED_BODY, usersBody } from './bodies.js'
import { call, headersFor, waitForJob, type JobView, type LoadRequest } from './load.js'
import { identifyRequests, meanBodyBytes } from './realtime-load.js'

/** W5: users identified per key (each identified in turn, then again with changed values). */
export const W5_USERS_PER_KEY = 64

/** One workload of issue 6: the requests sent, to the mock and to the baseline alike. */
export interface Workload {
  id: 'W1' | 'W2' | 'W3' | 'W4' | 'W5'
  title: string
  /** Bytes of each request body (0 for GETs). */
  bodyBytes: number
  /** Default connections of the load generator. */
  connections: number
  /** Default API keys the requests rotate through (jobs of one key run one at a time). */
  keys: number
  /** True when each request creates a job (the bench then waits for the jobs to drain). */
  createsJobs: boolean
  /** The requests against a started server (W4 first creates the job it polls). */
  requests: (base: string, keys: string[]) => Promise<LoadRequest[]>
  /** Checks, on the mock after the measured load, that the requests did the work they stand for; returns what is wrong. */
  verify?: (base: string, keys: string[]) => Promise<string[]>
}

/** API keys for a workload: `bench-w1-0`, `bench-w1-1`, … (any key is accepted when MOCK_API_KEYS is empty). */
export function keysFor (id: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) => `bench-${id.toLowerCase()}-${index}`)
}

function posts (body: string): (base: string, keys: string[]) => Promise<LoadRequest[]> {
  return async (_base, keys) => keys.map((key) => ({ method: 'POST', path: '/v1/users/bulk_identify', headers: headersFor(key, true), body }))
}

/** W1–W5, their bodies built once. */
export function workloads (): Workload[] {
  const seed = JSON.stringify(SEED_BODY)
  const thousand = usersBody(1000)
  const tenThousand = usersBody(10_000)
  return [
    { id: 'W1', title: "seed's 2-user body", bodyBytes: seed.length, connections: 10, keys: 32, createsJobs: true, requests: posts(seed) },
    { id: 'W2', title: '1,000 users', bodyBytes: thousand.length, connections: 8, keys: 8, createsJobs: true, requests: posts(thousand) },
    { id: 'W3', title: '10,000 users', bodyBytes: tenThousand.length, connections: 4, keys: 4, createsJobs: true, requests: posts(tenThousand) },
    {
      id: 'W4',
      title: 'job status polling',
      bodyBytes: 0,
      connections: 10,
      keys: 1,
      createsJobs: false,
      requests: async (base, keys) => {
        const key = keys[0] as string
        // The baseline answers any id with its static status; the mock gets a real, completed job.
        let jobId = 'bulk:jobs:NX-1a2b3c4d:6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e'
        const health = await call<{ version?: string }>(base, 'GET', '/__mock/health', null)
        if (health.version !== undefined) {
          jobId = (await call<JobView>(base, 'POST', '/v1/users/bulk_identify', key, seed, 202)).job_id
          await waitForJob(base, key, jobId)
        }
        return [{ method: 'GET', path: `/v1/background_jobs/${encodeURIComponent(jobId)}`, headers: headersFor(key) }]
      }
    },
    {
      id: 'W5',
      title: 'real-time identify',
      bodyBytes: meanBodyBytes(identifyRequests(['bench-w5-0'], W5_USERS_PER_KEY)),
      connections: 10,
      keys: 8,
      createsJobs: false,
      requests: async (_base, keys) => identifyRequests(keys, W5_USERS_PER_KEY),
      verify: verifyIdentified
    }
  ]
}

/**
 * W5 on the mock: the first user of a key is stored with its metadata and
 * company, its identify kept as an event, and no request strayed from the
 * docs (a warning would mean the bench sent what real clients do not).
 */
async function verifyIdentified (base: string, keys: readonly string[]): Promise<string[]> {
  const problems: string[] = []
  const key = keys[0] as string
  const user = await call<{ company_id: string | null, metadata: Record<string, unknown> }>(base, 'GET', '/__mock/users/user_0', key)
  if (user.company_id !== 'comp_0' || user.metadata.name !== 'User Number 0') problems.push(`${key}'s user_0 is stored as ${JSON.stringify(user).slice(0, 200)}`)
  const [event] = await call<Array<{ event_type: string }>>(base, 'GET', '/__mock/events?limit=1', key)
  if (event?.event_type !== 'identify_user') problems.push(`${key}'s newest event is ${event?.event_type ?? 'missing'}, not identify_user`)
  // The journal keeps the newest requests, all of the same shapes as the older ones.
  const warned = await call<Array<{ warnings: Array<{ code: string }> }>>(base, 'GET', '/__mock/requests?warnings=true&all=1&limit=1', null)
  if (warned.length > 0) problems.push(`requests drew fidelity warnings (${warned[0]?.warnings.map((warning) => warning.code).join(', ')})`)
  return problems
}

/**
 * Waits until every job the keys submitted has ended: jobs of a key run in
 * submission order, so its newest job ending means all of them have.
 * Returns the milliseconds it took (0 when nothing was pending).
 */
export async function drainJobs (base: string, keys: readonly string[], timeoutMs = 300_000): Promise<number> {
  const started = Date.now()
  await Promise.all(keys.map(async (key) => {
    const [newest] = await call<JobView[]>(base, 'GET', '/v1/background_jobs?limit=1', key)
    if (newest !== undefined) await waitForJob(base, key, newest.job_id, { everyMs: 50, timeoutMs })
  }))
  return Date.now() - started
}
