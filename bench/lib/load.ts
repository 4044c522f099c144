import autocannon from 'autocannon'

/** One request shape the load generator sends (cycled through by each connection). */
export interface LoadRequest {
  method: 'GET' | 'POST'
  path: string
  headers: Record<string, string>
  body?: string
}

/** What one load run measured. */
export interface LoadResult {
  reqPerSec: number
  p50Ms: number
  p99Ms: number
  errors: number
  timeouts: number
  non2xx: number
  ok: number
  durationS: number
}

/**
 * Drives `url` with autocannon for `durationS` seconds over `connections`
 * keep-alive connections, each cycling through `requests` (so that bodies
 * can go out under several API keys). Latency in ms, from autocannon's histogram.
 */
export async function runLoad (url: string, requests: LoadRequest[], options: { connections: number, durationS: number }): Promise<LoadResult> {
  const result = await autocannon({
    url,
    connections: options.connections,
    duration: options.durationS,
    pipelining: 1,
    timeout: 30,
    requests: requests.map((request) => ({ method: request.method, path: request.path, headers: request.headers, ...(request.body === undefined ? {} : { body: request.body }) }))
  })
  return {
    reqPerSec: (result['2xx'] + result.non2xx) / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    ok: result['2xx'],
    durationS: result.duration
  }
}

/** `Authorization: Token <key>` and a JSON content type. */
export function headersFor (key: string, json = false): Record<string, string> {
  return { authorization: `Token ${key}`, ...(json ? { 'content-type': 'application/json' } : {}) }
}

/** A JSON call to a server under test; throws on a status other than `expect`. */
export async function call<T> (base: string, method: string, path: string, key: string | null, body?: string, expect = 200): Promise<T> {
  const response = await fetch(base + path, {
    method,
    headers: { ...(key === null ? {} : headersFor(key, body !== undefined)), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body })
  })
  const text = await response.text()
  if (response.status !== expect) throw new Error(`${method} ${path}: ${response.status} (expected ${expect}): ${text.slice(0, 300)}`)
  return (text === '' ? undefined : JSON.parse(text)) as T
}

/** The job fields the bench reads. */
export interface JobView { job_id: string, status: string, completed_rows: number, total_rows: number }

/** Polls a job until it has ended (every `everyMs`); returns it, or throws after `timeoutMs`. */
export async function waitForJob (base: string, key: string, jobId: string, options: { everyMs?: number, timeoutMs?: number } = {}): Promise<JobView> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000)
  for (;;) {
    const job = await call<JobView>(base, 'GET', `/v1/background_jobs/${encodeURIComponent(jobId)}`, key)
    if (job.status === 'completed' || job.status === 'failed') return job
    if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.status} (${job.completed_rows}/${job.total_rows}) after ${options.timeoutMs ?? 120_000} ms`)
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 20))
  }
}
