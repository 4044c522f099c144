import { randomBytes } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { EXPORT_STATUS_TTL_MS, exportEnded, type CreateExportResult, type ExportRecord, type ExportStore } from './export-store.js'

interface TenantExports {
  /** Insertion order is creation order. */
  jobs: Map<string, ExportRecord>
  /** Paths of the written files, by job and file name. */
  files: Map<string, string>
}

function copy (record: ExportRecord): ExportRecord {
  return structuredClone(record)
}

/**
 * Export jobs in this process; their files on disk, in a temporary folder of
 * this process (removed on reset and close), so that a big export is never
 * held in memory.
 */
export class MemoryExports implements ExportStore {
  readonly #tenants = new Map<string, TenantExports>()
  #folder: Promise<string> | undefined
  #written = 0
  readonly #signingKey = randomBytes(32).toString('hex')

  #tenant (tenant: string): TenantExports {
    let state = this.#tenants.get(tenant)
    if (state === undefined) {
      state = { jobs: new Map(), files: new Map() }
      this.#tenants.set(tenant, state)
    }
    return state
  }

  /** Tenants that have any export. */
  tenants (): IterableIterator<string> {
    return this.#tenants.keys()
  }

  async create (record: ExportRecord): Promise<CreateExportResult> {
    const state = this.#tenant(record.tenant)
    // Creation order is time order: the expired ones come first.
    for (const job of [...state.jobs.values()]) {
      if (job.createdAt + EXPORT_STATUS_TTL_MS > record.createdAt) break
      if (exportEnded(job.status)) await this.#drop(state, job)
    }
    for (const job of state.jobs.values()) {
      if (!exportEnded(job.status)) return { created: false, activeJobId: job.jobId }
    }
    state.jobs.set(record.jobId, copy(record))
    return { created: true }
  }

  /** Forgets a job and removes its files. */
  async #drop (state: TenantExports, job: ExportRecord): Promise<void> {
    state.jobs.delete(job.jobId)
    for (const chunk of job.chunks) {
      // A chunk is recorded only once its file is written.
      const key = `${job.jobId}\n${chunk.filename}`
      const path = state.files.get(key) as string
      state.files.delete(key)
      await rm(path, { force: true })
    }
  }

  async get (tenant: string, jobId: string): Promise<ExportRecord | undefined> {
    const job = this.#tenants.get(tenant)?.jobs.get(jobId)
    return job === undefined ? undefined : copy(job)
  }

  async list (tenant: string): Promise<ExportRecord[]> {
    return [...(this.#tenants.get(tenant)?.jobs.values() ?? [])].reverse().map(copy)
  }

  async update (record: ExportRecord, expected: Pick<ExportRecord, 'status' | 'cursor'>): Promise<boolean> {
    const jobs = this.#tenants.get(record.tenant)?.jobs
    const current = jobs?.get(record.jobId)
    if (jobs === undefined || current === undefined || current.status !== expected.status || current.cursor !== expected.cursor) return false
    jobs.set(record.jobId, copy(record))
    return true
  }

  async putFile (tenant: string, jobId: string, filename: string, data: Buffer): Promise<void> {
    this.#folder ??= mkdtemp(join(tmpdir(), 'userpilot-mock-exports-'))
    const path = join(await this.#folder, `${++this.#written}`)
    await writeFile(path, data)
    this.#tenant(tenant).files.set(`${jobId}\n${filename}`, path)
  }

  async readFile (tenant: string, jobId: string, filename: string): Promise<Readable | undefined> {
    const path = this.#tenants.get(tenant)?.files.get(`${jobId}\n${filename}`)
    return path === undefined ? undefined : createReadStream(path)
  }

  async signingKey (): Promise<string> {
    return this.#signingKey
  }

  /** Forgets a tenant's exports and removes their files (every tenant's, and the folder, when null). */
  async forget (tenant: string | null): Promise<void> {
    if (tenant === null) {
      this.#tenants.clear()
      const folder = this.#folder
      this.#folder = undefined
      if (folder !== undefined) await rm(await folder, { recursive: true, force: true })
      return
    }
    const state = this.#tenants.get(tenant)
    this.#tenants.delete(tenant)
    await Promise.all([...state?.files.values() ?? []].map(async (path) => await rm(path, { force: true })))
  }
}
