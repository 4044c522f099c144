import t from 'tap'
import fc from 'fast-check'
import { deepStrictEqual, equal, ok } from 'node:assert/strict'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { MetadataMode } from '../../schemas/bulk.js'
import { MockCompany, MockDeletion, MockEvent, MockJob, MockUser } from '../../schemas/control.js'
import { ErrorEnvelope } from '../../schemas/errors.js'
import { JobAccepted } from '../../schemas/jobs.js'
import { DeleteAccepted } from '../../schemas/realtime.js'
import type { ManualClock } from '../../src/clock.js'
import { tenantOf } from '../../src/tenant.js'
import { assertSchema, testApp, type TestApp } from '../helpers/app.js'
import { control } from '../helpers/http.js'
import {
  commandSettings, companyIdentifyBody, companyRow, identifyBody, metadataMode, mustMatch, pooledId, readAll, runSettings, sendRealtime, sendRows, trackBody, userRow, wire,
  type Collection, type CompanyIdentifyBody, type IdentifyBody, type TrackBody, type WireCompany, type WireUser
} from './arbitraries.js'
import { nextDeletionRun, ReferenceModel, type ControlAnswer, type Deleted, type ProfileKind, type Stage, type Status } from './reference-model.js'

// Model-based test: random sequences of bulk requests (both endpoints, two keys,
// duplicate ids within a request, company moves, null removals, fail outcomes),
// real-time calls (identify with and without a company, company identify, track,
// deletes of existing, unknown and repeated ids), job control calls (advance,
// fail, flush), resets and clock advances (to either side of 02:00 UTC too) go to
// the mock and to the reference model; after every step the users, companies
// (with user_count, last touch and pending deletion), jobs, events and pending
// deletions the control API shows must equal the model's.

const KEYS = ['property-model-a', 'property-model-b'] as const
const DEFAULT_RUNS = 30
const RUNS = runSettings(DEFAULT_RUNS)
const STATUSES: readonly Status[] = ['queued', 'validating', 'processing', 'pending_refresh', 'completed', 'failed']
const STAGES: readonly Stage[] = ['queued', 'validating', 'processing', 'pending_refresh']

interface Settings { clock: 'manual' | 'auto', concurrency: 'reject' | 'queue', retention: number, mode: MetadataMode, deletions: 'scheduled' | 'immediate' }
/** MOCK_STAGE_MS of the apps under test. */
const STAGE_MS = 200
interface Real {
  app: FastifyInstance
  clock: ManualClock
  /** MOCK_CLOCK=auto: clock advances move the jobs. */
  auto: boolean
}
type Command = fc.AsyncCommand<ReferenceModel, Real>

/** How often each kind of outcome happened, to show that the runs reach every corner. */
const tally = new Map<string, number>()
function note (outcome: string): void {
  tally.set(outcome, (tally.get(outcome) ?? 0) + 1)
}

/** Each real-time call carries its own x-request-id, which the model expects in `last_touched_by` and the events. */
let requests = 0
function nextRequestId (): string {
  return `property-${++requests}`
}

/** Each user's last toucher and company after the previous step, per model: to see what a step changed. */
const previousUsers = new WeakMap<ReferenceModel, Map<string, { touch: string, company: unknown }>>()

/** Notes the changes between steps that no single command sees: a bulk row overriding an identify, a company deletion orphaning users. */
function noteChanges (model: ReferenceModel): void {
  const now = new Map<string, { touch: string, company: unknown }>()
  for (const key of KEYS) {
    for (const user of model.users(key)) now.set(`${key}\n${user.user_id as string}`, { touch: (user.last_touched_by as { type: string }).type, company: user.company_id })
  }
  for (const [id, user] of previousUsers.get(model) ?? []) {
    const after = now.get(id)
    if (after === undefined) continue
    if (user.touch === 'request' && after.touch === 'job') note('bulk row overrode an identify')
    if (user.company !== null && after.company === null) note('company deletion left a user without one')
  }
  previousUsers.set(model, now)
}

/**
 * Both stores, list by list, for each key: equal after every step. Each list is
 * read once across keys (`?all=1`) and split by key_id, which keeps each key's order.
 */
async function sameStores (model: ReferenceModel, real: Real): Promise<void> {
  const lists: Record<string, Array<{ key_id: string }>> = {}
  // Jobs first: under MOCK_CLOCK=auto the model learns from them how far processing has got.
  for (const list of ['jobs', 'users', 'companies', 'events', 'deletions'] as const) {
    const res = await control(real.app, 'GET', `/${list}?all=1&limit=1000`, { key: null })
    equal(res.statusCode, 200, res.body)
    const items = res.json() as Array<{ key_id: string }>
    for (const item of items) mustMatch(SCHEMAS[list], item, `one of ${list}`)
    equal(items.filter((item) => !KEYS.some((key) => item.key_id === tenantOf(key).envId)).length, 0, 'no other key')
    lists[list] = items
  }
  for (const key of KEYS) {
    const mine = (list: string): Array<Record<string, unknown>> => (lists[list] ?? []).filter((item) => item.key_id === tenantOf(key).envId)
    if (real.auto) {
      for (const job of mine('jobs') as MockJob[]) {
        if (job.status !== 'processing') continue
        if (job.completed_rows > 0 && job.completed_rows < job.total_rows) note('auto: processing seen part-way')
        model.observeProcessing(key, job.job_id, job.completed_rows)
      }
    }
    deepStrictEqual(mine('jobs'), wire(model.jobs(key)), `jobs of ${key}`)
    deepStrictEqual(timesApart(mine('users'), real), timesApart(wire(model.users(key)), real), `users of ${key}`)
    deepStrictEqual(timesApart(mine('companies'), real), timesApart(wire(model.companies(key)), real), `companies of ${key}`)
    deepStrictEqual(mine('events'), wire(model.events(key)), `events of ${key}`)
    deepStrictEqual(mine('deletions'), wire(model.deletions(key)), `deletions of ${key}`)
  }
  noteChanges(model)
}

/**
 * Under MOCK_CLOCK=auto the SPEC does not say at which instant of processing a
 * row is applied, so created_at and updated_at are only checked for order and
 * bounds, and compared exactly under MOCK_CLOCK=manual.
 */
function timesApart (items: Array<Record<string, unknown>>, real: Real): Array<Record<string, unknown>> {
  if (!real.auto) return items
  return items.map(({ created_at: created, updated_at: updated, ...rest }) => {
    const [from, to] = [Date.parse(created as string), Date.parse(updated as string)]
    ok(from <= to && to <= real.clock.now(), `created ${String(created)} <= updated ${String(updated)} <= now`)
    return rest
  })
}

const SCHEMAS = { users: MockUser, companies: MockCompany, jobs: MockJob, events: MockEvent, deletions: MockDeletion }

/** A control answer against the model's: the whole job, or the refusal's status, code and details. */
function sameAnswer (res: LightMyRequestResponse, expected: ControlAnswer): void {
  equal(res.statusCode, expected.status, res.body.slice(0, 300))
  const body: unknown = res.json()
  if (expected.status === 200) {
    mustMatch(MockJob, body, 'the job')
    deepStrictEqual(body, wire(expected.job))
    return
  }
  mustMatch(ErrorEnvelope, body, 'the error')
  const [entry] = (body as ErrorEnvelope).errors
  equal(entry?.error_code, expected.code)
  if (expected.details !== undefined) equal(entry?.details, expected.details)
}

/**
 * Which job a control call is about: mostly a running job of its key, else any job
 * of the key, sometimes any job ever seen (another key's, forgotten ones: 404).
 */
interface Pick { among: 'running' | 'own' | 'seen', n: number }
const pick: fc.Arbitrary<Pick> = fc.record({
  among: fc.oneof({ weight: 5, arbitrary: fc.constant('running' as const) }, { weight: 2, arbitrary: fc.constant('own' as const) }, { weight: 1, arbitrary: fc.constant('seen' as const) }),
  n: fc.nat()
})

function pickJob (model: ReferenceModel, key: string, { among, n }: Pick): string {
  const running = model.jobIds(key, true)
  const own = model.jobIds(key, false)
  const seen = model.seenJobs.map((job) => job.jobId)
  const ids = among === 'running' && running.length > 0 ? running : among !== 'seen' && own.length > 0 ? own : among === 'seen' ? seen : []
  return ids.length === 0 ? `bulk:jobs:${tenantOf(key).envId}:00000000-0000-4000-8000-000000000000` : ids[n % ids.length] as string
}

function showPick ({ among, n }: Pick): string {
  return `${among} job #${n}`
}

class Bulk implements Command {
  constructor (readonly key: number, readonly into: Collection, readonly rows: Array<WireUser | WireCompany>, readonly outcome: Stage | 'default' | null) {}
  check (): boolean { return true }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = KEYS[this.key] as string
    const headers: Record<string, string> = this.outcome === null ? {} : { 'x-mock-job-outcome': this.outcome === 'default' ? 'failed' : `failed@${this.outcome}` }
    const admission = model.admission(key)
    const sent = await sendRows(real.app, key, this.into, this.rows, 'json', headers)
    note(admission.accepted ? 'bulk 202' : 'bulk 409')
    if (!admission.accepted) {
      sameAnswer(sent.res, { status: 409, code: 'job_in_progress', details: admission.activeJobId })
    } else {
      equal(sent.res.statusCode, 202, sent.res.body.slice(0, 300))
      const accepted = sent.res.json() as JobAccepted
      mustMatch(JobAccepted, accepted, 'the 202')
      const uuid = accepted.job_id.split(':').at(-1) as string
      equal(accepted.job_id, `bulk:jobs:${tenantOf(key).envId}:${uuid}`)
      equal(accepted.filename, `bulk_identify_${this.into}_${uuid}.json`)
      model.accept(key, {
        job_id: accepted.job_id,
        type: this.into,
        rows: wire(this.rows),
        file_size: sent.fileSize,
        filename: accepted.filename,
        fail_at: this.outcome === 'default' ? 'validating' : this.outcome
      })
    }
    await sameStores(model, real)
  }

  toString (): string {
    return `bulk(${this.key}, ${this.into}, ${JSON.stringify(this.rows)}${this.outcome === null ? '' : `, failed@${this.outcome}`})`
  }
}

class Advance implements Command {
  constructor (readonly key: number, readonly pick: Pick, readonly to: Status | undefined) {}
  /** A key without jobs has nothing to move: skipped, unless the call is about some other job on purpose. */
  check (model: Readonly<ReferenceModel>): boolean { return this.pick.among === 'seen' || model.jobIds(KEYS[this.key] as string, false).length > 0 }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = KEYS[this.key] as string
    const jobId = pickJob(model, key, this.pick)
    const expected = model.advance(key, jobId, this.to)
    note(`advance ${expected.status === 200 ? expected.job.status as string : expected.code}`)
    sameAnswer(await control(real.app, 'POST', `/jobs/${jobId}/advance`, { key, ...(this.to === undefined ? {} : { payload: { to: this.to } }) }), expected)
    await sameStores(model, real)
  }

  toString (): string { return `advance(${this.key}, ${showPick(this.pick)}${this.to === undefined ? '' : `, to ${this.to}`})` }
}

class Fail implements Command {
  constructor (readonly key: number, readonly pick: Pick, readonly at: Stage | undefined) {}
  /** A key without jobs has nothing to move: skipped, unless the call is about some other job on purpose. */
  check (model: Readonly<ReferenceModel>): boolean { return this.pick.among === 'seen' || model.jobIds(KEYS[this.key] as string, false).length > 0 }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = KEYS[this.key] as string
    const jobId = pickJob(model, key, this.pick)
    const expected = model.fail(key, jobId, this.at)
    note(`fail ${expected.status === 200 ? expected.job.status as string : expected.code}`)
    sameAnswer(await control(real.app, 'POST', `/jobs/${jobId}/fail`, { key, ...(this.at === undefined ? {} : { payload: { at: this.at } }) }), expected)
    await sameStores(model, real)
  }

  toString (): string { return `fail(${this.key}, ${showPick(this.pick)}${this.at === undefined ? '' : `, at ${this.at}`})` }
}

class Flush implements Command {
  /** `key` null: `?all=1`, every key. */
  constructor (readonly key: number | null) {}
  check (): boolean { return true }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = this.key === null ? null : KEYS[this.key] as string
    const res = await control(real.app, 'POST', key === null ? '/clock/flush?all=1' : '/clock/flush', { key })
    equal(res.statusCode, 200, res.body)
    const expected = model.flush(key)
    note(expected.finished > 0 ? 'flush finished jobs' : 'flush nothing')
    if (expected.deleted.users + expected.deleted.companies > 0) note('flush deleted profiles')
    deepStrictEqual(res.json(), expected)
    await sameStores(model, real)
  }

  toString (): string { return `flush(${this.key ?? 'all'})` }
}

class Reset implements Command {
  constructor (readonly key: number | null) {}
  check (): boolean { return true }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = this.key === null ? null : KEYS[this.key] as string
    const res = await control(real.app, 'POST', key === null ? '/reset?all=1' : '/reset', { key })
    deepStrictEqual(res.json(), { reset: key === null ? 'all' : 'key' })
    const scope = key === null ? KEYS : [key]
    if (scope.some((each) => model.deletions(each).length > 0)) note('reset forgot pending deletions')
    if (scope.some((each) => model.events(each).length > 0)) note('reset forgot events')
    model.reset(key)
    await sameStores(model, real)
  }

  toString (): string { return `reset(${this.key ?? 'all'})` }
}

/**
 * Under MOCK_CLOCK=auto a deletion run (02:00 UTC) while a job is under way
 * would meet rows applied part-way at instants the SPEC leaves open, or a job
 * step at the same instant: a step that could bring that about is skipped.
 * Every job ends within four stages of the one ahead of it.
 */
function runMeetsJob (model: Readonly<ReferenceModel>, ms: number): boolean {
  const { stageMs } = model.settings
  const run = nextDeletionRun(model.now)
  if (stageMs === undefined || model.now + ms < run || !KEYS.some((key) => model.deletions(key).length > 0)) return false
  const running = KEYS.reduce((count, key) => count + model.jobIds(key, true).length, 0)
  return running > 0 && model.now + (4 * running + 1) * stageMs >= run
}

/** Moves both clocks on by `ms`, and notes what it did. */
async function passTime (model: ReferenceModel, real: Real, ms: number): Promise<void> {
  const before = JSON.stringify(KEYS.map((key) => model.jobs(key)))
  const pending = KEYS.some((key) => model.deletions(key).length > 0)
  const passes02 = model.now + ms >= nextDeletionRun(model.now)
  await real.clock.advance(ms)
  const deleted: Deleted = model.tick(ms)
  if (real.auto && JSON.stringify(KEYS.map((key) => model.jobs(key))) !== before) note('auto: time moved a job')
  if (deleted.users + deleted.companies > 0) note('auto: 02:00 UTC deleted profiles')
  if (pending && passes02 && !real.auto) note('manual: 02:00 UTC passed, nothing deleted')
  await sameStores(model, real)
}

class Tick implements Command {
  constructor (readonly ms: number) {}
  check (model: Readonly<ReferenceModel>): boolean { return !runMeetsJob(model, this.ms) }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    await passTime(model, real, this.ms)
  }

  toString (): string { return `tick(${this.ms})` }
}

/** Time moves to the next 02:00 UTC, give or take `offset` ms: where deletions run. */
class TickToRun implements Command {
  constructor (readonly offset: number) {}
  #ms (model: Readonly<ReferenceModel>): number { return nextDeletionRun(model.now) - model.now + this.offset }
  check (model: Readonly<ReferenceModel>): boolean { return !runMeetsJob(model, this.#ms(model)) }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    note(`tick to 02:00 UTC ${this.offset < 0 ? '-' : '+'} ${Math.abs(this.offset)} ms`)
    await passTime(model, real, this.#ms(model))
  }

  toString (): string { return `tickToRun(${this.offset})` }
}

/**
 * An id a call is about: a number picks the key's stored profile of that rank,
 * `marked` one of those marked for deletion (else any stored one), so that
 * calls meet existing profiles often; without any, an id never identified.
 * A string is the id itself.
 */
type IdPick = number | { marked: number } | string

function resolveId (model: ReferenceModel, key: string, type: ProfileKind, pick: IdPick): string {
  if (typeof pick === 'string') return pick
  const stored = type === 'users' ? model.users(key).map((user) => user.user_id) : model.companies(key).map((company) => company.company_id)
  const marked = model.deletions(key).filter((mark) => mark.type === type).map((mark) => mark.id)
  const [ids, n] = typeof pick === 'number' ? [stored, pick] : [marked.length > 0 ? marked : stored, pick.marked]
  return ids.length === 0 ? 'nobody' : ids[n % ids.length] as string
}

function showPicks (picks: readonly IdPick[]): string {
  return `[${picks.map((pick) => typeof pick === 'number' ? `#${pick}` : typeof pick === 'string' ? JSON.stringify(pick) : `marked #${pick.marked}`).join(', ')}]`
}

/** A real-time call and its body; a track's `user` (when a number) picks a stored user instead of the body's. */
type Call =
  | { kind: 'identify', body: IdentifyBody }
  | { kind: 'company identify', body: CompanyIdentifyBody }
  | { kind: 'track', body: TrackBody, user: number | null }

const CALL_URLS: Record<Call['kind'], string> = { identify: '/v1/identify', 'company identify': '/v1/companies/identify', track: '/v1/track' }

/** What a call reaches, before the model takes it in. */
function noteCall (model: ReferenceModel, key: string, call: Call): void {
  note(call.kind)
  const nested = Object.values({ ...call.body.metadata, ...(call.kind === 'identify' ? call.body.company : {}) }).some((value) => typeof value === 'object' && value !== null)
  if (nested) note(`${call.kind} with nested metadata`)
  if (call.kind === 'identify' && call.body.company !== undefined) note(`identify into a company (${'id' in call.body.company ? 'id' : 'company_id'})`)
  if (call.kind === 'track') note(model.users(key).some((user) => user.user_id === call.body.user_id) ? 'track of a known user' : 'track of an unknown user')
}

class RealTime implements Command {
  constructor (readonly key: number, readonly call: Call) {}
  check (): boolean { return true }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = KEYS[this.key] as string
    const requestId = nextRequestId()
    const call: Call = this.call.kind === 'track' && this.call.user !== null
      ? { ...this.call, body: { ...this.call.body, user_id: resolveId(model, key, 'users', this.call.user) } }
      : this.call
    const res = await sendRealtime(real.app, key, 'POST', CALL_URLS[call.kind], call.body, requestId)
    equal(res.statusCode, 202, res.body.slice(0, 300))
    deepStrictEqual(res.json(), {})
    equal(res.headers['x-request-id'], requestId)
    noteCall(model, key, call)
    const sent = wire(call)
    if (sent.kind === 'identify') model.identify(key, requestId, sent.body)
    else if (sent.kind === 'company identify') model.identifyCompany(key, requestId, sent.body)
    else model.track(key, requestId, sent.body)
    await sameStores(model, real)
  }

  // Picks, not the ids they resolved to: shrinking runs the same command objects again in other states.
  toString (): string {
    const user = this.call.kind === 'track' && this.call.user !== null ? `, user #${this.call.user}` : ''
    return `${this.call.kind}(${this.key}, ${JSON.stringify(this.call.body)}${user})`
  }
}

class Delete implements Command {
  constructor (readonly key: number, readonly type: ProfileKind, readonly picks: IdPick[]) {}
  check (): boolean { return true }
  async run (model: ReferenceModel, real: Real): Promise<void> {
    const key = KEYS[this.key] as string
    const ids = this.picks.map((pick) => resolveId(model, key, this.type, pick))
    const known = new Set((this.type === 'users' ? model.users(key) : model.companies(key)).map((profile) => profile[this.type === 'users' ? 'user_id' : 'company_id']))
    const marked = new Set(model.deletions(key).filter((mark) => mark.type === this.type).map((mark) => mark.id))
    note(`delete ${this.type}`)
    if (ids.some((id) => !known.has(id))) note('delete of an unknown id')
    if (new Set(ids).size < ids.length) note('delete of a repeated id')
    if (ids.some((id) => marked.has(id))) note('delete of a marked profile')
    const res = await sendRealtime(real.app, key, 'DELETE', `/v1/${this.type}`, { [this.type]: ids }, nextRequestId())
    equal(res.statusCode, 202, res.body.slice(0, 300))
    mustMatch(DeleteAccepted, res.json(), 'the 202')
    const { message } = res.json() as DeleteAccepted
    const due = new Date(model.delete(key, this.type, wire(ids))).toISOString()
    // Ids are counted once each, unknown ones included.
    ok(message.startsWith(`${new Set(ids).size} `), message)
    if (model.settings.immediateDeletions === true) {
      if (ids.some((id) => known.has(id))) note('immediate: deleted before the 202')
    } else {
      ok(message.includes(due), message)
      if (model.deletions(key).some((mark) => mark.type === this.type && marked.has(mark.id) && mark.deletion_scheduled_at !== due)) note('delete kept the sooner time')
    }
    await sameStores(model, real)
  }

  toString (): string { return `delete(${this.key}, ${this.type}, ${showPicks(this.picks)})` }
}

// Mostly the first key, so that its jobs get far; the second one checks that keys stay apart.
const keyIndex = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) })
const keyOrAll = fc.option(keyIndex, { freq: 5 })

/** The commands, for one metadata mode: ids from small pools, so rows collide, move and get removed. */
function commands ({ mode, clock }: Settings): Array<fc.Arbitrary<Command>> {
  const userId = pooledId('u', 4)
  const companyId = pooledId('c', 3)
  const realTime = (call: fc.Arbitrary<Call>): fc.Arbitrary<Command> => fc.tuple(keyIndex, call).map(([key, each]) => new RealTime(key, each))
  // Stored profiles mostly, ids of the pools, now and then one never identified; repeated ones too.
  const deleteOf = (type: ProfileKind, id: fc.Arbitrary<string>): fc.Arbitrary<Command> => {
    const pick: fc.Arbitrary<IdPick> = fc.oneof(
      { weight: 4, arbitrary: fc.nat(7) },
      { weight: 1, arbitrary: fc.nat(7).map((marked) => ({ marked })) },
      { weight: 2, arbitrary: id },
      { weight: 1, arbitrary: fc.constant('nobody') }
    )
    return fc.tuple(keyIndex, fc.array(pick, { minLength: 1, maxLength: 4 })).map(([key, picks]) => new Delete(key, type, picks))
  }
  const identify = realTime(identifyBody({ mode, userId, companyId }).map((body) => ({ kind: 'identify' as const, body })))
  // One request in six asks its job to fail (X-Mock-Job-Outcome), at a random stage.
  const outcome = fc.oneof({ weight: 5, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<Stage | 'default'>('default', ...STAGES) })
  const advance = fc.tuple(keyIndex, pick, fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: fc.constantFrom(...STATUSES) }))
    .map(([key, job, to]) => new Advance(key, job, to))
  // fc.commands draws each arbitrary alike: users bulk requests are listed twice, advance three times (jobs need several to get far);
  // identify three times, each delete and the tick to 02:00 twice (a deletion needs a stored profile, a mark, then a run or flush).
  // Longer requests under MOCK_CLOCK=auto, so that processing can be seen part-way.
  const users = fc.tuple(keyIndex, fc.array(userRow({ mode, userId, companyId }), { minLength: 1, maxLength: clock === 'auto' ? 20 : 6 }), outcome)
    .map(([key, rows, fail]) => new Bulk(key, 'users', rows, fail))
  // Under MOCK_CLOCK=auto, short ticks too, so that steps land inside stages (processing part-way).
  const tick = (clock === 'auto'
    // 2.5 stages from a fresh job is the middle of its processing.
    ? fc.oneof(fc.integer({ min: 1, max: 300 }), fc.constantFrom(10, 50, STAGE_MS, 2 * STAGE_MS, 2.5 * STAGE_MS, 60_000))
    : fc.oneof(fc.integer({ min: 1, max: 999 }), fc.constantFrom(STAGE_MS, 60_000, 86_400_000))
  ).map((ms) => new Tick(ms))
  // Just before, at and after 02:00 UTC, and an hour later: a deletion run falls in the last three (under MOCK_CLOCK=auto).
  const tickToRun = fc.constantFrom(-1, 0, 1, 3_600_000).map((offset) => new TickToRun(offset))
  return [
    users,
    fc.tuple(keyIndex, fc.array(companyRow({ mode, companyId }), { minLength: 1, maxLength: 4 }), outcome)
      .map(([key, rows, fail]) => new Bulk(key, 'companies', rows, fail)),
    users,
    advance,
    advance,
    advance,
    fc.tuple(keyIndex, pick, fc.oneof(fc.constant(undefined), fc.constantFrom(...STAGES)))
      .map(([key, job, at]) => new Fail(key, job, at)),
    keyOrAll.map((key) => new Flush(key)),
    keyOrAll.map((key) => new Reset(key)),
    identify,
    identify,
    identify,
    realTime(companyIdentifyBody({ mode, companyId }).map((body) => ({ kind: 'company identify' as const, body }))),
    realTime(fc.tuple(trackBody({ mode, userId: fc.oneof({ weight: 4, arbitrary: userId }, { weight: 1, arbitrary: fc.constant('u9') }) }), fc.option(fc.nat(7)))
      .map(([body, user]) => ({ kind: 'track' as const, body, user }))),
    deleteOf('users', userId),
    deleteOf('companies', companyId),
    deleteOf('users', userId),
    deleteOf('companies', companyId),
    tickToRun,
    tickToRun,
    tick,
    // Under MOCK_CLOCK=auto time moves the jobs: ticks twice as often.
    ...(clock === 'auto' ? [tick] : [])
  ]
}

const scenarios = fc.record({
  clock: fc.constantFrom<Settings['clock']>('manual', 'auto'),
  concurrency: fc.constantFrom<Settings['concurrency']>('reject', 'queue'),
  retention: fc.constantFrom(1000, 2, 0),
  mode: metadataMode,
  deletions: fc.oneof({ weight: 3, arbitrary: fc.constant('scheduled' as const) }, { weight: 1, arbitrary: fc.constant('immediate' as const) })
}).chain((settings) => fc.tuple(fc.constant(settings), fc.commands(commands(settings), commandSettings(40))))

t.test('the mock and the reference model agree after every step (MOCK_CLOCK manual and auto, MOCK_DELETIONS scheduled and immediate)', async (t) => {
  // One app per setting combination, reset before each run: building an app costs more than a run.
  const apps = new Map<string, TestApp>()
  let steps = 0
  await fc.assert(fc.asyncProperty(scenarios, async ([settings, cmds]) => {
    const name = `${settings.clock}/${settings.concurrency}/${settings.retention}/${settings.mode}/${settings.deletions}`
    let app = apps.get(name)
    if (app === undefined) {
      app = await testApp(t, {
        MOCK_CLOCK: settings.clock,
        MOCK_STAGE_MS: STAGE_MS,
        MOCK_CONCURRENCY: settings.concurrency,
        MOCK_JOB_RETENTION: settings.retention,
        MOCK_METADATA: settings.mode,
        MOCK_DELETIONS: settings.deletions
      })
      apps.set(name, app)
    }
    const { app: server, clock } = app
    deepStrictEqual((await control(server, 'POST', '/reset?all=1', { key: null })).json(), { reset: 'all' })
    const model = new ReferenceModel({
      concurrency: settings.concurrency,
      retention: settings.retention,
      envIdOf: (key) => tenantOf(key).envId,
      immediateDeletions: settings.deletions === 'immediate',
      ...(settings.clock === 'auto' ? { stageMs: STAGE_MS } : {})
    }, clock.now())
    await fc.asyncModelRun(() => ({ model, real: { app: server, clock, auto: settings.clock === 'auto' } }), cmds)
    steps += [...cmds].length
  }), RUNS)
  t.ok(steps > 0, `${steps} commands run and compared over ${RUNS.numRuns as number} runs`)
  t.comment(`outcomes: ${JSON.stringify(Object.fromEntries([...tally].sort()))}`)
  // Which corners the runs reached, as a comment: asserting on it would make a random test flaky.
  const corners = ['bulk 202', 'bulk 409', 'advance validating', 'advance pending_refresh', 'advance job_finished', 'advance job_not_found', 'advance job_waiting',
    'fail failed', 'fail queued', 'flush finished jobs', 'auto: time moved a job', 'auto: processing seen part-way',
    'identify with nested metadata', 'track of a known user', 'track of an unknown user', 'delete of an unknown id', 'delete of a repeated id', 'delete of a marked profile',
    'delete kept the sooner time', 'immediate: deleted before the 202', 'flush deleted profiles', 'auto: 02:00 UTC deleted profiles', 'manual: 02:00 UTC passed, nothing deleted',
    'company deletion left a user without one', 'bulk row overrode an identify', 'reset forgot events', 'reset forgot pending deletions']
  t.comment(`corners not reached this time: ${JSON.stringify(corners.filter((corner) => !tally.has(corner)))}`)
  t.ok((tally.get('bulk 202') ?? 0) > 0, 'bulk requests were accepted')
  // Every kind of command is drawn dozens of times in the default runs (a replay of one case or a few runs may lack some).
  if (RUNS.path === undefined && (RUNS.numRuns as number) >= DEFAULT_RUNS) {
    const kinds = ['identify', 'identify into a company (id)', 'identify into a company (company_id)', 'company identify', 'track', 'delete users', 'delete companies',
      'tick to 02:00 UTC - 1 ms', 'tick to 02:00 UTC + 0 ms', 'tick to 02:00 UTC + 1 ms', 'tick to 02:00 UTC + 3600000 ms']
    t.same(kinds.filter((kind) => !tally.has(kind)), [], 'every kind of real-time call and 02:00 UTC tick ran')
  }
  // The property checks by throwing; the last state once more through tap's own schema assertion.
  for (const { app } of apps.values()) {
    for (const key of KEYS) for (const job of await readAll(app, key, 'jobs')) assertSchema(t, MockJob, job)
  }
})
