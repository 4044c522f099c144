import type { Readable } from 'node:stream'
import type { ExportStatus } from '../../schemas/exports.js'

/** The filters of an export, as the job applies them to each kept event. */
export interface ExportFilters {
  /** Epoch ms, inclusive; null: no bound. */
  from: number | null
  /** Epoch ms, exclusive; null: no bound. */
  to: number | null
  eventTypes: string[] | null
  userIds: string[] | null
  companyIds: string[] | null
}

/** One written file of an export. */
export interface ExportChunk {
  /** 1, 2, 3… in the order written. */
  number: number
  filename: string
  events: number
  bytes: number
  /** When it was written (mock clock): its link expires two days later. */
  writtenAt: number
}

/** An export job as the store keeps it (times in epoch milliseconds). */
export interface ExportRecord {
  jobId: string
  tenant: string
  /** The key's environment id, `NX-…`. */
  appToken: string
  format: 'ndjson' | 'csv' | 'avro' | 'parquet'
  filters: ExportFilters
  status: ExportStatus
  createdAt: number
  endTime: number | null
  /** The tenant's events numbered in (firstSeq - 1, lastSeq] are exported: those kept when the job was created. */
  firstSeq: number
  lastSeq: number
  /** Events numbered up to here have been read. */
  cursor: number
  chunks: ExportChunk[]
  /** The status at which the job is to fail (X-Mock-Job-Outcome, the control API); null: it will not. */
  failAt: 'pending' | 'processing' | null
}

/** What {@link ExportStore.create} did. */
export type CreateExportResult = { created: true } | { created: false, activeJobId: string }

/**
 * Export jobs and their files, per tenant. One export runs per tenant at a
 * time; every change to a job is a compare-and-set on its status and cursor,
 * so that a step is carried out once whoever runs it.
 */
export interface ExportStore {
  /**
   * Records a new job unless another of the tenant's exports has not ended
   * (one atomic step); first forgets the tenant's ended exports (and their
   * files) started EXPORT_STATUS_TTL_MS or more before this one.
   */
  create(record: ExportRecord): Promise<CreateExportResult>
  get(tenant: string, jobId: string): Promise<ExportRecord | undefined>
  /** The tenant's exports, newest first. */
  list(tenant: string): Promise<ExportRecord[]>
  /** Replaces the job if it is still at `expected`'s status and cursor; false when another step got there first or it is gone. */
  update(record: ExportRecord, expected: Pick<ExportRecord, 'status' | 'cursor'>): Promise<boolean>
  /** Keeps a written file of a job. */
  putFile(tenant: string, jobId: string, filename: string, data: Buffer): Promise<void>
  /** A kept file, as a stream; undefined when there is none. */
  readFile(tenant: string, jobId: string, filename: string): Promise<Readable | undefined>
  /** The key that signs download links: one per store, so that every replica sharing it accepts the others' links. */
  signingKey(): Promise<string>
}

/**
 * How long an export's status can be read after it started (SPEC 1.14: three
 * days). An ended export older than that is forgotten, with its files, when
 * the key creates its next one: kept state stays bounded.
 */
export const EXPORT_STATUS_TTL_MS = 3 * 24 * 3600 * 1000

/** Terminal statuses: the job never changes again. */
export function exportEnded (status: ExportStatus): boolean {
  return status === 'completed' || status === 'failed'
}
