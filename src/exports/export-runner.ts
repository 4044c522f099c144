import type { Clock, TimerHandle } from '../clock.js'
import type { EventRecord } from '../store/event-store.js'
import { exportEnded, type ExportFilters, type ExportRecord } from '../store/export-store.js'
import type { MockStore } from '../store/store.js'
import { toExportedEvent, type ExportedEvent } from './exported-event.js'
import { encodeEvents, fileExtension } from './formats.js'

/** Events per file: what one step holds in memory at most. */
export const DEFAULT_CHUNK_EVENTS = 10_000

export interface ExportRunnerOptions {
  store: MockStore
  clock: Clock
  /** How long `pending` lasts, and each chunk of `processing` (MOCK_STAGE_MS). */
  stageMs: number
  chunkEvents?: number
  /** False under MOCK_CLOCK=manual: exports move only through the control API. */
  autoAdvance: boolean
  onError: (error: unknown, job: { tenant: string, jobId: string }) => void
}

/** What a control call on an export did. */
export type ExportControlResult = { ok: true, job: ExportRecord } | { ok: false, reason: 'not_found' } | { ok: false, reason: 'finished', job: ExportRecord }

/** Whether a kept event passes an export's filters. */
export function exportMatches (event: EventRecord, filters: ExportFilters): boolean {
  return (filters.from === null || event.insertedAt >= filters.from) &&
    (filters.to === null || event.insertedAt < filters.to) &&
    (filters.eventTypes === null || filters.eventTypes.includes(event.eventType)) &&
    (filters.userIds === null || (event.userId !== null && filters.userIds.includes(event.userId))) &&
    (filters.companyIds === null || (event.companyId !== null && filters.companyIds.includes(event.companyId)))
}

/** Percent of the job's events read so far. */
export function exportProgress (job: ExportRecord): number {
  if (job.status === 'completed') return 100
  const total = job.lastSeq - job.firstSeq + 1
  return total <= 0 ? 0 : Math.floor(100 * Math.max(0, job.cursor - job.firstSeq + 1) / total)
}

/** A chunk's file name: the job, the chunk's number and the format's extension. */
export function chunkFilename (job: Pick<ExportRecord, 'jobId' | 'format'>, number: number): string {
  return `export_${job.jobId}_${String(number).padStart(4, '0')}.${fileExtension(job.format)}`
}

/**
 * Carries export jobs through `pending → processing → completed` on the
 * mock's clock: after `pending`, each step reads the next events (never more
 * than a chunk's worth at a time), writes them as one file and records it.
 * Like the job runner it keeps no state but its timers: each step reads the
 * job and writes it back by compare-and-set.
 */
export class ExportRunner {
  readonly #options: ExportRunnerOptions
  readonly #chunkEvents: number
  readonly #timers = new Map<string, TimerHandle>()
  readonly #running = new Set<Promise<unknown>>()
  #closed = false

  constructor (options: ExportRunnerOptions) {
    this.#options = options
    this.#chunkEvents = options.chunkEvents ?? DEFAULT_CHUNK_EVENTS
  }

  /** Records the job (one running export per key) and starts its clock. */
  async submit (job: ExportRecord): Promise<{ created: true } | { created: false, activeJobId: string }> {
    const result = await this.#options.store.exports.create(job)
    if (result.created) this.#schedule(job, this.#options.stageMs)
    return result
  }

  /** Moves an export on now: one step, or with `to` until it reaches that status. */
  async advance (tenant: string, jobId: string, to?: ExportRecord['status']): Promise<ExportControlResult> {
    if (to === 'failed') return await this.fail(tenant, jobId)
    let job = await this.#options.store.exports.get(tenant, jobId)
    if (job === undefined) return { ok: false, reason: 'not_found' }
    if (exportEnded(job.status)) return { ok: false, reason: 'finished', job }
    // One step, or as many as it takes to reach `to`.
    const more = (current: ExportRecord): boolean => to !== undefined && current.status !== to && !exportEnded(current.status)
    do job = await this.#step(job) as ExportRecord
    while (more(job))
    return { ok: true, job }
  }

  /** Fails an export now; the files written so far stay. */
  async fail (tenant: string, jobId: string): Promise<ExportControlResult> {
    const { store, clock } = this.#options
    const job = await store.exports.get(tenant, jobId)
    if (job === undefined) return { ok: false, reason: 'not_found' }
    if (exportEnded(job.status)) return { ok: false, reason: 'finished', job }
    const failed: ExportRecord = { ...job, status: 'failed', endTime: clock.now() }
    if (!(await store.exports.update(failed, job))) return await this.fail(tenant, jobId)
    this.#cancel(job)
    return { ok: true, job: failed }
  }

  /** Runs every export that has not ended (of one tenant, or all) to its end now; returns how many. */
  async flush (tenants: readonly string[]): Promise<number> {
    let finished = 0
    for (const tenant of tenants) {
      for (const job of await this.#options.store.exports.list(tenant)) {
        if (exportEnded(job.status)) continue
        await this.advance(tenant, job.jobId, 'completed')
        finished++
      }
    }
    return finished
  }

  /** Stops the timers of a tenant's exports (every tenant's when null). */
  forget (tenant: string | null): void {
    for (const [key, handle] of this.#timers) {
      if (tenant === null || key.startsWith(`${tenant}\n`)) {
        this.#options.clock.clearTimer(handle)
        this.#timers.delete(key)
      }
    }
  }

  /** Stops every timer and waits for the steps under way. */
  async close (): Promise<void> {
    this.#closed = true
    this.forget(null)
    await Promise.all(this.#running)
  }

  #cancel (job: Pick<ExportRecord, 'tenant' | 'jobId'>): void {
    const key = `${job.tenant}\n${job.jobId}`
    const handle = this.#timers.get(key)
    if (handle !== undefined) this.#options.clock.clearTimer(handle)
    this.#timers.delete(key)
  }

  #schedule (job: Pick<ExportRecord, 'tenant' | 'jobId'>, delay: number): void {
    if (!this.#options.autoAdvance || this.#closed) return
    this.#cancel(job)
    const key = `${job.tenant}\n${job.jobId}`
    this.#timers.set(key, this.#options.clock.setTimer(() => {
      this.#timers.delete(key)
      const run = this.#options.store.exports.get(job.tenant, job.jobId)
        .then(async (current) => {
          if (current === undefined || exportEnded(current.status)) return
          const after = await this.#step(current)
          if (after !== undefined && !exportEnded(after.status)) this.#schedule(after, this.#options.stageMs)
        })
        .catch((error: unknown) => {
          this.#options.onError(error, job)
          this.#schedule(job, 1000)
        })
        .finally(() => this.#running.delete(run))
      this.#running.add(run)
      return run
    }, Math.max(0, delay)))
  }

  /**
   * One step: `pending` becomes `processing`; `processing` writes the next
   * chunk (and completes after the last). Returns the job as it is after,
   * whoever moved it.
   */
  async #step (job: ExportRecord): Promise<ExportRecord | undefined> {
    const { store, clock } = this.#options
    const now = clock.now()
    let next: ExportRecord
    if (job.status === 'pending') {
      next = job.failAt === 'pending' ? { ...job, status: 'failed', endTime: now } : { ...job, status: 'processing' }
    } else {
      const { events, cursor } = await this.#readChunk(job)
      next = { ...job, cursor, chunks: [...job.chunks] }
      // An export with no events still gives one (empty) file, so a reader always finds one.
      if (events.length > 0 || (job.chunks.length === 0 && cursor >= job.lastSeq)) {
        const number = job.chunks.length + 1
        const filename = chunkFilename(job, number)
        const data = await encodeEvents(job.format, events)
        await store.exports.putFile(job.tenant, job.jobId, filename, data)
        next.chunks.push({ number, filename, events: events.length, bytes: data.length, writtenAt: now })
      }
      if (job.failAt === 'processing') next = { ...next, status: 'failed', endTime: now }
      else if (cursor >= job.lastSeq) next = { ...next, status: 'completed', endTime: now }
    }
    if (await store.exports.update(next, job)) {
      if (exportEnded(next.status)) this.#cancel(next)
      return next
    }
    return await store.exports.get(job.tenant, job.jobId)
  }

  /** The next chunk's events: read a window at a time until the chunk is full or the job's events run out. */
  async #readChunk (job: ExportRecord): Promise<{ events: ExportedEvent[], cursor: number }> {
    const { store, clock } = this.#options
    const events: ExportedEvent[] = []
    let cursor = job.cursor
    while (events.length < this.#chunkEvents && cursor < job.lastSeq) {
      const window = await store.events.scan(job.tenant, cursor, Math.min(this.#chunkEvents, job.lastSeq - cursor))
      // The rest were pushed out of the ring (or forgotten) since the job began.
      if (window.length === 0) return { events, cursor: job.lastSeq }
      for (const { seq, event } of window) {
        if (seq > job.lastSeq) return { events, cursor: job.lastSeq }
        cursor = seq
        if (exportMatches(event, job.filters)) events.push(toExportedEvent(event, job.appToken))
        if (events.length === this.#chunkEvents) break
      }
      await clock.yield()
    }
    return { events, cursor }
  }
}
