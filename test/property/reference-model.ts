// A second, deliberately naive implementation of what SPEC 1.5, 1.7 and 2 (and
// the real-time calls: identify, company identify, track, deletes) say the
// mock remembers, written from the SPEC text (not from src/store): plain arrays
// scanned linearly, user counts recomputed from the users every time, time as a
// number. Its views have the control API's wire shapes, so that a test can
// compare them with what `GET /__mock/...` answers.

import type { CompanyIdentifyBody, IdentifyBody, RealtimeMetadata, RealtimeValue, TrackBody, WireCompany, WireUser } from './arbitraries.js'

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

/** Userpilot carries deletions out daily at 02:00 UTC: the first such time strictly after `ms`. */
export function nextDeletionRun (ms: number): number {
  const run = new Date(ms)
  run.setUTCHours(2, 0, 0, 0)
  if (run.getTime() <= ms) run.setUTCDate(run.getUTCDate() + 1)
  return run.getTime()
}

/** What last changed a profile: a bulk job, or a real-time request (its x-request-id). */
interface Touch { type: 'job' | 'request', id: string }

/** A stored property: as sent, nested objects and arrays included (a null removes it instead). */
type Property = [string, Exclude<RealtimeValue, null>]

interface ModelUser {
  user_id: string
  company_id: string | null
  metadata: Property[]
  created: number
  updated: number
  touch: Touch
}

interface ModelCompany {
  company_id: string
  metadata: Property[]
  created: number
  updated: number
  touch: Touch
}

type EventType = 'identify_user' | 'identify_company' | 'track'

interface ModelEvent {
  type: EventType
  name: string
  user_id: string | null
  company_id: string | null
  metadata: RealtimeMetadata
  at: number
  request_id: string
}

export type ProfileKind = 'users' | 'companies'

interface ModelDeletion { type: ProfileKind, id: string, due: number }

/** Profiles a deletion run forgot. */
export interface Deleted { users: number, companies: number }

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
  /** Real-time calls, oldest first. */
  events: ModelEvent[]
  /** Profiles marked by DELETE requests, not carried out yet. */
  deletions: ModelDeletion[]
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
  /**
   * MOCK_CLOCK=auto: each stage lasts this long, and time moves jobs and carries
   * deletions out at 02:00 UTC; undefined under MOCK_CLOCK=manual.
   */
  stageMs?: number
  /** MOCK_DELETIONS=immediate: a DELETE request forgets the profiles before it answers. */
  immediateDeletions?: boolean
}

/** Merges a metadata patch: a null value removes the property (SPEC 1.7); nested values are kept as sent. */
function merge (target: Property[], patch: RealtimeMetadata): void {
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

function add (total: Deleted, more: Deleted): void {
  total.users += more.users
  total.companies += more.companies
}

/** What last touched a profile and when it goes, as the control views show it. */
function trail (env: Environment | undefined, type: ProfileKind, id: string, touch: Touch): Record<string, unknown> {
  const mark = env?.deletions.find((each) => each.type === type && each.id === id)
  return {
    last_touched_by: touch,
    last_job_id: touch.type === 'job' ? touch.id : null,
    deletion_scheduled_at: mark === undefined ? null : iso(mark.due)
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
      env = { users: [], companies: [], jobs: [], endedOrder: [], freeSince: this.now, events: [], deletions: [] }
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
    const touch: Touch = { type: 'job', id: job.job_id }
    for (; job.completed_rows < upTo; job.completed_rows++) {
      const row = job.rows[job.completed_rows] as WireUser & WireCompany
      if (job.type === 'users') this.#user(env, row, touch)
      else this.#company(env, row, touch)
    }
  }

  /** Identifies a user (a bulk row or a real-time call): created on first sight, moved by a company_id, metadata merged. */
  #user (env: Environment, row: { user_id: string, company_id?: string | undefined, metadata?: RealtimeMetadata | undefined }, touch: Touch): ModelUser {
    let user = env.users.find((each) => each.user_id === row.user_id)
    if (user === undefined) {
      user = { user_id: row.user_id, company_id: null, metadata: [], created: this.now, updated: this.now, touch }
      env.users.push(user)
    }
    if (row.company_id !== undefined) user.company_id = row.company_id
    if (row.metadata !== undefined) merge(user.metadata, row.metadata)
    user.updated = this.now
    user.touch = touch
    return user
  }

  /** Identifies a company: created on first sight, metadata merged. */
  #company (env: Environment, row: { company_id: string, metadata?: RealtimeMetadata | undefined }, touch: Touch): void {
    let company = env.companies.find((each) => each.company_id === row.company_id)
    if (company === undefined) {
      company = { company_id: row.company_id, metadata: [], created: this.now, updated: this.now, touch }
      env.companies.push(company)
    }
    if (row.metadata !== undefined) merge(company.metadata, row.metadata)
    company.updated = this.now
    company.touch = touch
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
   * Also under MOCK_CLOCK=auto, each 02:00 UTC passed carries the due deletions
   * out (a job step at the same instant goes first: tests avoid that tie).
   * Returns what the deletion runs forgot.
   */
  tick (ms: number): Deleted {
    const start = this.now
    const target = start + ms
    const stageMs = this.settings.stageMs
    const deleted: Deleted = { users: 0, companies: 0 }
    if (stageMs !== undefined) {
      for (const env of this.#envs.values()) {
        let run = nextDeletionRun(start)
        for (;;) {
          const job = this.#oldestRunning(env)
          const since = job === undefined ? Infinity : (job.history.at(-1) as { at: number }).at
          const end = job === undefined ? Infinity : job.status === 'queued' ? Math.max(since + stageMs, env.freeSince) : since + stageMs
          if (Math.min(end, run) > target) break
          if (job !== undefined && end <= run) {
            this.now = end
            this.#step(env, job)
          } else {
            this.now = run
            add(deleted, this.#carryOut(env, run))
            run = nextDeletionRun(run)
          }
        }
      }
    }
    this.now = target
    return deleted
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

  /**
   * `POST /__mock/clock/flush`: every running job of the key (of every key when
   * null) to its end, oldest first, then every pending deletion, due or not.
   */
  flush (key: string | null): { finished: number, deleted: Deleted } {
    let finished = 0
    const deleted: Deleted = { users: 0, companies: 0 }
    const scope = [...this.#envs].filter(([each]) => key === null || each === key).map(([, env]) => env)
    for (const env of scope) {
      for (let job = this.#oldestRunning(env); job !== undefined; job = this.#oldestRunning(env)) {
        while (!ended(job.status)) this.#step(env, job)
        finished++
      }
    }
    for (const env of scope) add(deleted, this.#carryOut(env, Infinity))
    return { finished, deleted }
  }

  /** `POST /v1/identify`: the company object first (its other keys are the company's properties), then the user, who moves into it. */
  identify (key: string, requestId: string, body: IdentifyBody): void {
    const env = this.#env(key)
    const touch: Touch = { type: 'request', id: requestId }
    let companyId: string | undefined
    if (body.company !== undefined) {
      const { id, company_id: alias, ...properties } = body.company
      companyId = (id ?? alias) as string
      this.#company(env, { company_id: companyId, metadata: properties }, touch)
    }
    const user = this.#user(env, { user_id: body.user_id, company_id: companyId, metadata: body.metadata }, touch)
    this.#keep(env, requestId, { type: 'identify_user', name: '', user_id: body.user_id, company_id: user.company_id, metadata: body.metadata })
  }

  /** `POST /v1/companies/identify`. */
  identifyCompany (key: string, requestId: string, body: CompanyIdentifyBody): void {
    const env = this.#env(key)
    this.#company(env, body, { type: 'request', id: requestId })
    this.#keep(env, requestId, { type: 'identify_company', name: '', user_id: null, company_id: body.company_id, metadata: body.metadata })
  }

  /** `POST /v1/track`: no profile changes, even for a user never identified; the event names the user's company now. */
  track (key: string, requestId: string, body: TrackBody): void {
    const env = this.#env(key)
    const user = env.users.find((each) => each.user_id === body.user_id)
    this.#keep(env, requestId, { type: 'track', name: body.event_name, user_id: body.user_id, company_id: user?.company_id ?? null, metadata: body.metadata })
  }

  #keep (env: Environment, requestId: string, event: Omit<ModelEvent, 'at' | 'request_id' | 'metadata'> & { metadata: RealtimeMetadata | undefined }): void {
    env.events.push({ ...event, metadata: event.metadata ?? {}, at: this.now, request_id: requestId })
  }

  /**
   * `DELETE /v1/users` or `/v1/companies`: the profiles among `ids` that exist
   * are marked for the next 02:00 UTC (a profile already marked keeps the
   * sooner time); unknown ids are ignored. With MOCK_DELETIONS=immediate they
   * are forgotten now. Returns when the marks are due.
   */
  delete (key: string, type: ProfileKind, ids: readonly string[]): number {
    const env = this.#env(key)
    const due = this.settings.immediateDeletions === true ? this.now : nextDeletionRun(this.now)
    for (const id of ids) {
      const exists = type === 'users' ? env.users.some((user) => user.user_id === id) : env.companies.some((company) => company.company_id === id)
      if (!exists) continue
      const mark = env.deletions.find((each) => each.type === type && each.id === id)
      if (mark === undefined) env.deletions.push({ type, id, due })
      else mark.due = Math.min(mark.due, due)
    }
    if (this.settings.immediateDeletions === true) this.#carryOut(env, this.now)
    return due
  }

  /** Forgets the marked profiles due by `dueBy`: a user leaves its company's count, a company leaves its users without one. */
  #carryOut (env: Environment, dueBy: number): Deleted {
    const due = env.deletions.filter((mark) => mark.due <= dueBy)
    env.deletions = env.deletions.filter((mark) => mark.due > dueBy)
    const gone = (type: ProfileKind, id: string): boolean => due.some((mark) => mark.type === type && mark.id === id)
    const before = { users: env.users.length, companies: env.companies.length }
    env.users = env.users.filter((user) => !gone('users', user.user_id))
    env.companies = env.companies.filter((company) => !gone('companies', company.company_id))
    for (const user of env.users) {
      if (user.company_id !== null && gone('companies', user.company_id)) user.company_id = null
    }
    return { users: before.users - env.users.length, companies: before.companies - env.companies.length }
  }

  /** Ids of the jobs a key has now, oldest first; only those not ended with `running`. */
  jobIds (key: string, running: boolean): string[] {
    return (this.#envs.get(key)?.jobs ?? []).filter((job) => !running || !ended(job.status)).map((job) => job.job_id)
  }

  /** `POST /__mock/reset`: forgets a key's state (events and pending deletions too), or every key's. */
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
      ...trail(env, 'users', user.user_id, user.touch)
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
      ...trail(env, 'companies', company.company_id, company.touch)
    }))
  }

  /** `GET /__mock/events`: newest first. */
  events (key: string): Array<Record<string, unknown>> {
    return [...(this.#envs.get(key)?.events ?? [])].reverse().map((event) => ({
      key_id: this.settings.envIdOf(key),
      event_type: event.type,
      event_name: event.name,
      user_id: event.user_id,
      company_id: event.company_id,
      metadata: event.metadata,
      source: 'backend-http',
      inserted_at: iso(event.at),
      request_id: event.request_id
    }))
  }

  /** `GET /__mock/deletions`: soonest first, then users before companies, then by id. */
  deletions (key: string): Array<Record<string, unknown>> {
    const order = (a: ModelDeletion, b: ModelDeletion): number => a.due - b.due || (a.type === b.type ? 0 : a.type === 'users' ? -1 : 1) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return [...(this.#envs.get(key)?.deletions ?? [])].sort(order).map((mark) => ({
      key_id: this.settings.envIdOf(key),
      type: mark.type,
      id: mark.id,
      deletion_scheduled_at: iso(mark.due)
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
