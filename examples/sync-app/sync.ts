// An example integration: sync users to Userpilot with the bulk identify API,
// the way a real app has to. It splits the users into requests of at most
// 10,000, waits out a running job (409), backs off on 429 and 503 (honouring
// Retry-After), polls every accepted job to its end and reports each batch.
// It depends on nothing but Node.js (global fetch), so it runs against the
// real service or the mock alike.
import { setTimeout as delay } from 'node:timers/promises'

/** The most users one bulk request may carry (the documented limit). */
export const MAX_BATCH = 10_000

export type Metadata = Record<string, string | number | boolean | null>

export interface SyncUser {
  user_id: string
  company_id?: string
  metadata?: Metadata
}

export interface SyncOptions {
  /** API base URL; default: env USERPILOT_URL (e.g. https://analytex.userpilot.io). */
  baseUrl?: string
  /** API key; default: env USERPILOT_API_KEY. */
  apiKey?: string
  /** Users per request, 1 to 10,000 (default 10,000). */
  batchSize?: number
  /** Tries of one request when it gets 429, 503 or no answer at all (default 6). */
  maxAttempts?: number
  /** First backoff when no Retry-After is given, doubled each time (default 1,000 ms). */
  backoffMs?: number
  /** Longest backoff when no Retry-After is given (default 30,000 ms). */
  maxBackoffMs?: number
  /** Wait between two polls of a job (default 1,000 ms). */
  pollIntervalMs?: number
  /** Polls of one job before giving up on it (default 900). */
  maxPolls?: number
  /** Times one batch waits for another job (409) before giving up (default 20). */
  maxConflicts?: number
  /** How to wait; a test injects its own so that nothing sleeps for real. */
  sleep?: (ms: number) => Promise<unknown>
  /** Where USERPILOT_URL and USERPILOT_API_KEY are read (default process.env). */
  env?: Readonly<Record<string, string | undefined>>
}

/** What happened to one batch. */
export interface BatchReport {
  batch: number
  users: number
  status: 'completed' | 'failed'
  jobId: string | null
  completedRows: number
  /** Bulk requests sent for this batch, retries included. */
  requests: number
  /** Jobs this batch waited for after a 409. */
  waitedFor: string[]
  error?: string
}

export interface SyncSummary {
  ok: boolean
  users: number
  batches: number
  completed: number
  failed: number
  completedRows: number
  durationMs: number
  reports: BatchReport[]
}

/** A job as `GET /v1/background_jobs/{job_id}` shows it (the fields used here). */
interface JobState { job_id: string, status: string, completed_rows: number }

/** The error envelope of every non-2xx answer. */
interface ApiError { error_code?: string, message?: string, details?: unknown }

interface Answer { status: number, data: unknown }

const RETRYABLE = new Set([429, 503])
const TERMINAL = new Set(['completed', 'failed'])

/** `count` made-up users, in a few companies, with some metadata (for demos and load). */
export function demoUsers (count: number): SyncUser[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`the number of users must be a whole number of 0 or more, got ${count}`)
  return Array.from({ length: count }, (_, i) => ({
    user_id: `demo-user-${i + 1}`,
    company_id: `demo-company-${(i % 50) + 1}`,
    metadata: { name: `Demo User ${i + 1}`, plan: i % 3 === 0 ? 'pro' : 'free', seats: (i % 7) + 1, beta: i % 2 === 0 }
  }))
}

/**
 * The wait before retry number `attempt` (1 for the first retry): the
 * server's Retry-After in seconds when it sent one, else exponential backoff.
 */
export function retryDelay (retryAfter: string | null, attempt: number, backoffMs: number, maxBackoffMs: number): number {
  const seconds = /^\s*(\d+)\s*$/.exec(retryAfter ?? '')
  if (seconds !== null) return Number(seconds[1]) * 1000
  return Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1))
}

function firstError (data: unknown): ApiError {
  const errors = (data as { errors?: ApiError[] } | null)?.errors
  return (Array.isArray(errors) ? errors[0] : undefined) ?? {}
}

/** `answered 409: <the API's message>`, for reports. */
function answered (answer: Answer): string {
  return `answered ${answer.status}: ${firstError(answer.data).message ?? '(no message)'}`
}

function positiveInteger (name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of 1 or more, got ${value}`)
  return value
}

/**
 * Identifies `users` in batches and waits for each job to end. Never throws
 * for what the API answers: a batch that could not be synced is reported as
 * failed and the next one is tried. Throws only when options are missing or wrong.
 */
export async function syncUsers (users: readonly SyncUser[], options: SyncOptions = {}): Promise<SyncSummary> {
  const env = options.env ?? process.env
  const baseUrl = options.baseUrl ?? env.USERPILOT_URL
  const apiKey = options.apiKey ?? env.USERPILOT_API_KEY
  if (baseUrl === undefined || baseUrl === '') throw new Error('set the API base URL (option baseUrl or env USERPILOT_URL)')
  if (apiKey === undefined || apiKey === '') throw new Error('set the API key (option apiKey or env USERPILOT_API_KEY)')
  const batchSize = positiveInteger('batchSize', options.batchSize ?? MAX_BATCH)
  if (batchSize > MAX_BATCH) throw new RangeError(`batchSize is at most ${MAX_BATCH}, got ${batchSize}`)
  const maxAttempts = positiveInteger('maxAttempts', options.maxAttempts ?? 6)
  const maxPolls = positiveInteger('maxPolls', options.maxPolls ?? 900)
  const maxConflicts = options.maxConflicts ?? 20
  const backoffMs = options.backoffMs ?? 1000
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  const pollIntervalMs = options.pollIntervalMs ?? 1000
  const sleep = options.sleep ?? delay

  const api = `${baseUrl.replace(/\/+$/, '')}/`
  const headers = { authorization: `Token ${apiKey}`, accept: 'application/json' }

  /** One call, retried on 429, 503 and network errors; any other answer is returned. Counts each try in `tally`. */
  async function send (tally: { requests: number }, method: 'GET' | 'POST', url: URL, body?: unknown): Promise<Answer> {
    let problem = ''
    let retryAfter: string | null = null
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(retryDelay(retryAfter, attempt - 1, backoffMs, maxBackoffMs))
      tally.requests++
      retryAfter = null
      try {
        const response = await fetch(url, body === undefined
          ? { method, headers }
          : { method, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
        if (!RETRYABLE.has(response.status)) return { status: response.status, data: await response.json() }
        await response.text()
        problem = `answered ${response.status}`
        retryAfter = response.headers.get('retry-after')
      } catch (error) {
        problem = `failed (${(error as Error).message})`
      }
    }
    throw new Error(`${method} ${url.pathname} ${problem}; gave up after ${maxAttempts} attempts`)
  }

  /** Polls a job until it is completed or failed. */
  async function waitForJob (url: URL): Promise<JobState> {
    const polls = { requests: 0 }
    let last = ''
    for (let poll = 1; poll <= maxPolls; poll++) {
      if (poll > 1) await sleep(pollIntervalMs)
      const answer = await send(polls, 'GET', url)
      if (answer.status !== 200) throw new Error(`GET ${url.pathname} ${answered(answer)}`)
      const job = answer.data as JobState
      if (TERMINAL.has(job.status)) return job
      last = `job ${job.job_id} is still ${job.status}`
    }
    throw new Error(`${last} after ${maxPolls} polls`)
  }

  async function syncBatch (batch: number, rows: readonly SyncUser[]): Promise<BatchReport> {
    const report: BatchReport = { batch, users: rows.length, status: 'failed', jobId: null, completedRows: 0, requests: 0, waitedFor: [] }
    try {
      for (;;) {
        const answer = await send(report, 'POST', new URL('v1/users/bulk_identify', api), { users: rows })
        if (answer.status === 202) {
          const accepted = answer.data as { job_id: string, links: string }
          report.jobId = accepted.job_id
          const job = await waitForJob(new URL(accepted.links, api))
          report.status = job.status as BatchReport['status']
          report.completedRows = job.completed_rows
          if (job.status === 'failed') report.error = `job ${job.job_id} failed`
          return report
        }
        const error = firstError(answer.data)
        const running = error.details
        if (answer.status !== 409 || error.error_code !== 'job_in_progress' || typeof running !== 'string') {
          throw new Error(`POST /v1/users/bulk_identify ${answered(answer)}`)
        }
        if (report.waitedFor.length >= maxConflicts) throw new Error(`another job was still running after waiting for ${maxConflicts} jobs`)
        report.waitedFor.push(running)
        await waitForJob(new URL(`v1/background_jobs/${encodeURIComponent(running)}`, api))
      }
    } catch (error) {
      report.error = (error as Error).message
      return report
    }
  }

  const started = Date.now()
  const reports: BatchReport[] = []
  for (let start = 0; start < users.length; start += batchSize) {
    reports.push(await syncBatch(reports.length + 1, users.slice(start, start + batchSize)))
  }
  const completed = reports.filter((report) => report.status === 'completed').length
  return {
    ok: completed === reports.length,
    users: users.length,
    batches: reports.length,
    completed,
    failed: reports.length - completed,
    completedRows: reports.reduce((sum, report) => sum + report.completedRows, 0),
    durationMs: Date.now() - started,
    reports
  }
}
