// A second, deliberately naive implementation of what SPEC 1.5, 1.7 and 2 say the
// mock remembers, written from the SPEC text (not from src/store): plain arrays
// scanned linearly, user counts recomputed from the users every time, time as a
// number. Its views have the control API's wire shapes, so that a test can
// compare them with what `GET /__mock/...` answers.

import type { WireCompany, WireMetadata, WireUser } from './arbitraries.js'

export type Status = 'queued' | 'validating' | 'processing' | 'pending_refresh' | 'completed' | 'failed'
export type Stage = 'queued' | 'validating' | 'processing' | 'pending_refresh'

/** The lifecycle in order (SPEC 1.5); `failed` can end any stage. */
const ORDER: readonly Status[] = ['queued', 'validating', 'processing', 'pending_refresh', 'completed', 'failed']
const NEXT: Record<Stage, Status> = { queued: 'validating', validating: 'processing', processing: 'pending_refresh', pending_refresh: 'completed' }

function ended (status: Status): boolean {
  return status === 'completed' || status === 'failed'
}

function iso (ms: number): string {
  return new Date(ms).toISOString()
}

interface ModelUser {
  user_id: string
  company_id: string | null
  metadata: Array<[string, string | number | boolean]>
  created: number
  updated: number
  job: string
}

interface ModelCompany {
  company_id: string
  metadata: Array<[string, string | number | boolean]>
  created: number
  updated: number
  job: string
}

interface ModelJob {
  job_id: string
  type: 'users' | 'companies'
  status: Status
  rows: Array<WireUser | WireCompany>
  completed_rows: number
  file_size: number
  filename: string
  submitted: number
  end: number | null
  fail_at: Stage | null
  history: Array<{ status: Status, at: number }>
}

interface Environment {
  users: ModelUser[]
  companies: ModelCompany[]
  /** In submission order. */
  jobs: ModelJob[]
  /** Ids of ended jobs, in the order they ended (MOCK_JOB_RETENTION forgets the first ones). */
  endedOrder: string[]
  /** When the last job ended: a queued job cannot start before the one ahead of it has ended. */
  freeSince: number
}

/** What a control call on a job answers: the job's view, or the status and error code of the refusal. */
export type ControlAnswer =
  | { status: 200, job: Record<string, unknown> }
  | { status: 404 | 409, code: string, details?: string }

/** What the model says a bulk request gets. */
export type Admission = { accepted: true } | { accepted: false, activeJobId: string }

/** The settings the model depends on. */
export interface ModelSettings {
  concurrency: 'reject' | 'queue'
  retention: number
  /** The environment id a key shows (`key_id`). */
  envIdOf: (key: string) => string
  /** MOCK_CLOCK=auto: each stage lasts this long, and time moves jobs; undefined under MOCK_CLOCK=manual. */
  stageMs?: number
}

/** Merges a metadata patch: a null value removes the property (SPEC 1.7). */
function merge (target: Array<[string, string | number | boolean]>, patch: WireMetadata): void {
  for (const [key, value] of Object.entries(patch)) {
    const at = target.findIndex(([name]) => name === key)
    if (value === null) {
      if (at >= 0) target.splice(at, 1)
    } else if (at >= 0) {
      target[at] = [key, value]
    } else {
      target.push([key, value])
    }
  }
}

/** The store of the mock as the SPEC describes it, one environment per API key. */
export class ReferenceModel {
  now: number
  readonly settings: ModelSettings
  readonly #envs = new Map<string, Environment>()
  /** Every job id ever accepted, with its key: for control calls on forgotten or foreign jobs. */
  readonly seenJobs: Array<{ key: string, jobId: string }> = []

  constructor (settings: ModelSettings, now: number) {
    this.settings = settings
    this.now = now
  }

  #env (key: string): Environment {
    let env = this.#envs.get(key)
    if (env === undefined) {
      env = { users: [], companies: [], jobs: [], endedOrder: [], freeSince: this.now }
      this.#envs.set(key, env)
    }
    return env
  }

  #oldestRunning (env: Environment): ModelJob | undefined {
    return env.jobs.find((job) => !ended(job.status))
  }

  /** One bulk job per environment at a time (SPEC 1.2): refused with `reject`, queued with `queue`. */
  admission (key: string): Admission {
    const running = this.#oldestRunning(this.#env(key))
    if (this.settings.concurrency === 'reject' && running !== undefined) return { accepted: false, activeJobId: running.job_id }
    return { accepted: true }
  }

  /** Records an accepted bulk request (its id as the mock chose it). */
  accept (key: string, job: { job_id: string, type: 'users' | 'companies', rows: Array<WireUser | WireCompany>, file_size: number, filename: string, fail_at: Stage | null }): void {
    const env = this.#env(key)
    const record: ModelJob = { ...job, status: 'queued', completed_rows: 0, submitted: this.now, end: null, history: [{ status: 'queued', at: this.now }] }
    env.jobs.push(record)
    this.seenJobs.push({ key, jobId: job.job_id })
    this.#arrive(env, record)
  }

  #find (key: string, jobId: string): { env: Environment, job: ModelJob } | undefined {
    const env = this.#envs.get(key)
    const job = env?.jobs.find((each) => each.job_id === jobId)
    return env === undefined || job === undefined ? undefined : { env, job }
  }

  #move (env: Environment, job: ModelJob, to: Status): void {
    job.status = to
    job.history.push({ status: to, at: this.now })
    if (ended(to)) {
      job.end = this.now
      env.freeSince = this.now
      env.endedOrder.push(job.job_id)
      while (env.endedOrder.length > this.settings.retention) {
        const gone = env.endedOrder.shift()
        env.jobs = env.jobs.filter((each) => each.job_id !== gone)
      }
    } else {
      this.#arrive(env, job)
    }
  }

  /** A job told to fail at a stage fails as it reaches it, applying nothing more (SPEC 1.5). */
  #arrive (env: Environment, job: ModelJob): void {
    if (job.fail_at === job.status) this.#move(env, job, 'failed')
  }

  /** Applies a job's rows that are left, in order (later rows win); with `upTo`, only that far. */
  #applyRest (env: Environment, job: ModelJob, upTo = job.rows.length): void {
    for (; job.completed_rows < upTo; job.completed_rows++) {
      const row = job.rows[job.completed_rows] as WireUser & WireCompany
      if (job.type === 'users') {
        let user = env.users.find((each) => each.user_id === row.user_id)
        if (user === undefined) {
          user = { user_id: row.user_id, company_id: null, metadata: [], created: this.now, updated: this.now, job: job.job_id }
          env.users.push(user)
        }
        if (row.company_id !== undefined) user.company_id = row.company_id
        if (row.metadata !== undefined) merge(user.metadata, row.metadata)
        user.updated = this.now
        user.job = job.job_id
      } else {
        let company = env.companies.find((each) => each.company_id === row.company_id)
        if (company === undefined) {
          company = { company_id: row.company_id, metadata: [], created: this.now, updated: this.now, job: job.job_id }
          env.companies.push(company)
        }
        if (row.metadata !== undefined) merge(company.metadata, row.metadata)
        company.updated = this.now
        company.job = job.job_id
      }
    }
  }

  #step (env: Environment, job: ModelJob): void {
    const stage = job.status as Stage
    if (stage === 'processing') this.#applyRest(env, job)
    this.#move(env, job, NEXT[stage])
  }

  /**
   * Time passes (SPEC 1.5). Under MOCK_CLOCK=auto the oldest running job of each
   * key moves on whenever its stage has lasted `stageMs`; a queued job also waits
   * until the job ahead of it has ended. Rows are applied during processing.
   */
  tick (ms: number): void {
    const target = this.now + ms
    const stageMs = this.settings.stageMs
    if (stageMs !== undefined) {
      for (const env of this.#envs.values()) {
        for (let job = this.#oldestRunning(env); job !== undefined; job = this.#oldestRunning(env)) {
          const since = (job.history.at(-1) as { at: number }).at
          const end = job.status === 'queued' ? Math.max(since + stageMs, env.freeSince) : since + stageMs
          if (end > target) break
          this.now = end
          this.#step(env, job)
        }
      }
    }
    this.now = target
  }

  /**
   * SPEC 1.5 says how far processing has got only loosely (completed_rows rises,
   * rows apply in order), so the model takes the count from the mock: it must
   * not go back nor beyond the rows, and the store must then hold exactly that prefix.
   */
  observeProcessing (key: string, jobId: string, completedRows: number): void {
    const found = this.#find(key, jobId)
    if (found === undefined || found.job.status !== 'processing') throw new Error(`${jobId} is not processing in the model`)
    const { env, job } = found
    if (!Number.isInteger(completedRows) || completedRows < job.completed_rows || completedRows > job.rows.length) {
      throw new Error(`completed_rows of ${jobId} went from ${job.completed_rows} to ${completedRows} of ${job.rows.length}`)
    }
    this.#applyRest(env, job, completedRows)
  }

  /** `POST /__mock/jobs/:id/advance`: one stage, or on to `to`; only the oldest running job of a key may move. */
  advance (key: string, jobId: string, to?: Status): ControlAnswer {
    if (to === 'failed') return this.fail(key, jobId)
    const found = this.#find(key, jobId)
    if (found === undefined) return { status: 404, code: 'job_not_found' }
    const { env, job } = found
    if (ended(job.status)) return { status: 409, code: 'job_finished', details: job.status }
    if (to !== undefined && ORDER.indexOf(to) <= ORDER.indexOf(job.status)) return { status: 409, code: 'invalid_transition', details: job.status }
    const first = this.#oldestRunning(env) as ModelJob
    if (first !== job) return { status: 409, code: 'job_waiting', details: first.job_id }
    const target = to ?? NEXT[job.status as Stage]
    while (!ended(job.status) && job.status !== target) this.#step(env, job)
    return { status: 200, job: this.#jobView(key, job) }
  }

  /** `POST /__mock/jobs/:id/fail`: now, or when it reaches a later stage `at`. */
  fail (key: string, jobId: string, at?: Stage): ControlAnswer {
    const found = this.#find(key, jobId)
    if (found === undefined) return { status: 404, code: 'job_not_found' }
    const { env, job } = found
    if (ended(job.status)) return { status: 409, code: 'job_finished', details: job.status }
    if (at !== undefined && ORDER.indexOf(at) > ORDER.indexOf(job.status)) {
      job.fail_at = at
    } else {
      this.#move(env, job, 'failed')
    }
    return { status: 200, job: this.#jobView(key, job) }
  }

  /** `POST /__mock/clock/flush`: every running job of the key (of every key when null) to its end, oldest first; how many. */
  flush (key: string | null): number {
    let finished = 0
    for (const [each, env] of this.#envs) {
      if (key !== null && each !== key) continue
      for (let job = this.#oldestRunning(env); job !== undefined; job = this.#oldestRunning(env)) {
        while (!ended(job.status)) this.#step(env, job)
        finished++
      }
    }
    return finished
  }

  /** Ids of the jobs a key has now, oldest first; only those not ended with `running`. */
  jobIds (key: string, running: boolean): string[] {
    return (this.#envs.get(key)?.jobs ?? []).filter((job) => !running || !ended(job.status)).map((job) => job.job_id)
  }

  /** `POST /__mock/reset`: forgets a key's state, or every key's. */
  reset (key: string | null): void {
    if (key === null) this.#envs.clear()
    else this.#envs.delete(key)
  }

  /** `GET /__mock/users`: in the order first identified. */
  users (key: string): Array<Record<string, unknown>> {
    const env = this.#envs.get(key)
    return (env?.users ?? []).map((user) => ({
      key_id: this.settings.envIdOf(key),
      user_id: user.user_id,
      company_id: user.company_id,
      metadata: Object.fromEntries(user.metadata),
      created_at: iso(user.created),
      updated_at: iso(user.updated),
      last_touched_by: { type: 'job', id: user.job },
      last_job_id: user.job,
      deletion_scheduled_at: null
    }))
  }

  /** `GET /__mock/companies`: in the order first identified, each with the users that name it now. */
  companies (key: string): Array<Record<string, unknown>> {
    const env = this.#envs.get(key)
    return (env?.companies ?? []).map((company) => ({
      key_id: this.settings.envIdOf(key),
      company_id: company.company_id,
      metadata: Object.fromEntries(company.metadata),
      user_count: (env?.users ?? []).filter((user) => user.company_id === company.company_id).length,
      created_at: iso(company.created),
      updated_at: iso(company.updated),
      last_touched_by: { type: 'job', id: company.job },
      last_job_id: company.job,
      deletion_scheduled_at: null
    }))
  }

  /** `GET /__mock/jobs`: newest first. */
  jobs (key: string): Array<Record<string, unknown>> {
    const env = this.#envs.get(key)
    return [...(env?.jobs ?? [])].reverse().map((job) => this.#jobView(key, job))
  }

  #jobView (key: string, job: ModelJob): Record<string, unknown> {
    return {
      key_id: this.settings.envIdOf(key),
      job_id: job.job_id,
      type: job.type,
      status: job.status,
      total_rows: job.rows.length,
      completed_rows: job.completed_rows,
      file_size: job.file_size,
      filename: job.filename,
      submitted_at: iso(job.submitted),
      end_time: job.end === null ? null : iso(job.end),
      fail_at: job.fail_at,
      history: job.history.map((change) => ({ status: change.status, at: iso(change.at) }))
    }
  }
}
