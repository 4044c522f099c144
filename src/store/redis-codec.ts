import type { CompanyRow, Metadata, MetadataValue, UserRow } from '../../schemas/bulk.js'
import type { JobStatus } from '../../schemas/jobs.js'
import { importedCompany, importedUser, type ImportRow } from '../imports/import-row.js'
import { emptyMetadata } from './metadata.js'
import type { FaultRule, JobRecord, JobRow, JournalRecord, StoredCompany, StoredUser, Touch } from './store.js'

// How the Redis backend writes values. The Lua scripts never parse JSON:
// cjson would round numbers to 14 digits, reorder object keys and reject lone
// surrogates. Instead every id, key and value is written as ASCII-only JSON
// text (see `enc`), which never contains a raw newline, so records are plain
// newline-separated fields that Lua can split, compare and join byte for byte.

/** JSON text with every non-ASCII code unit escaped (they occur only inside strings): ASCII only, no raw newline. */
function asciiJson (json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/** JSON text of a string, ASCII only, no raw newline, one spelling per string. */
export function enc (value: string): string {
  return asciiJson(JSON.stringify(value))
}

/** The inverse of {@link enc} (and of {@link encValue}). */
export function dec<T = string> (text: string): T {
  return JSON.parse(text) as T
}

/** A metadata value as ASCII JSON text; `null` stays `null`, which the merge script reads as "remove". */
export function encValue (value: MetadataValue): string {
  return asciiJson(JSON.stringify(value))
}

function encMetadata (metadata: Readonly<Record<string, MetadataValue>> | undefined): string[] {
  if (metadata === undefined) return []
  return Object.keys(metadata).flatMap((key) => [enc(key), encValue(metadata[key] as MetadataValue)])
}

/** Reads metadata pairs from `fields`, starting at `start`, into an object without a prototype. */
export function decMetadata (fields: readonly string[], start: number): Metadata {
  const metadata = emptyMetadata()
  for (let index = start; index + 1 < fields.length; index += 2) {
    metadata[dec(fields[index] as string)] = dec<MetadataValue>(fields[index + 1] as string)
  }
  return metadata
}

function encUserRow (user: UserRow): string[] {
  return [enc(user.user_id), user.company_id === undefined ? '' : enc(user.company_id), ...encMetadata(user.metadata)]
}

function encCompanyRow (company: CompanyRow): string[] {
  return [enc(company.company_id), ...encMetadata(company.metadata)]
}

/**
 * An import row as the apply script reads it: its event type, the event's
 * JSON (one line: JSON.stringify escapes newlines), then for an identify the
 * profile's row as bulk rows encode it.
 */
function encImportRow (row: ImportRow): string[] {
  const head = [row.eventType, JSON.stringify(row)]
  if (row.eventType === 'identify_user') return [...head, ...encUserRow(importedUser(row))]
  if (row.eventType === 'identify_company') return [...head, ...encCompanyRow(importedCompany(row))]
  return head
}

/** A job's row as the apply script reads it: user (id, company or empty, metadata pairs), company (id, metadata pairs) or import row. */
export function encRow (type: JobRecord['type'], row: JobRow): string {
  if (type === 'users') return encUserRow(row as UserRow).join('\n')
  if (type === 'companies') return encCompanyRow(row as CompanyRow).join('\n')
  return encImportRow(row as ImportRow).join('\n')
}

/**
 * What last touched a profile, as its record's field: a job's encoded id as
 * it is (the scripts write the job argument unchanged), a request's after an `r`.
 */
export function encTouch (touch: Touch): string {
  return touch.kind === 'job' ? enc(touch.id) : `r${enc(touch.id)}`
}

export function decTouch (field: string): Touch {
  return field.startsWith('r') ? { kind: 'request', id: dec(field.slice(1)) } : { kind: 'job', id: dec(field) }
}

/** A due time from ZSCORE or ZMSCORE (null when there is no mark). */
function decDue (score: string | null): number | null {
  return score === null ? null : Number(score)
}

/** A stored user record: company (or empty), createdAt, updatedAt, last touch, first-seen sequence, metadata pairs; and its deletion mark's score. */
export function decUser (userField: string, record: string, deletion: string | null): StoredUser {
  const fields = record.split('\n')
  const [company, createdAt, updatedAt, touch] = fields as [string, string, string, string]
  return {
    userId: dec(userField),
    companyId: company === '' ? null : dec(company),
    metadata: decMetadata(fields, 5),
    createdAt: Number(createdAt),
    updatedAt: Number(updatedAt),
    lastTouch: decTouch(touch),
    deletionScheduledAt: decDue(deletion)
  }
}

/** A stored company record: createdAt, updatedAt, last touch, metadata pairs; and its deletion mark's score. */
export function decCompany (companyField: string, record: string, deletion: string | null): StoredCompany {
  const fields = record.split('\n')
  const [createdAt, updatedAt, touch] = fields as [string, string, string]
  return { companyId: dec(companyField), metadata: decMetadata(fields, 3), createdAt: Number(createdAt), updatedAt: Number(updatedAt), lastTouch: decTouch(touch), deletionScheduledAt: decDue(deletion) }
}

/** The fields of a job's hash, as the create script writes them. */
export function encJob (job: JobRecord): string[] {
  const { jobId, tenant, type, totalRows, fileSize, filename, submittedAt } = job
  return [
    job.status,
    String(job.completedRows),
    job.endTime === null ? '' : String(job.endTime),
    job.failAt === undefined ? '' : JSON.stringify(job.failAt),
    job.history.map((change) => `${change.status}\n${change.at}`).join('\n'),
    type,
    JSON.stringify({ jobId, tenant, type, totalRows, fileSize, filename, submittedAt })
  ]
}

/** A job from its hash, given as Redis returns it to a script (a flat field, value list) or to HGETALL. */
export function decJob (hash: readonly string[] | Record<string, string>): JobRecord {
  const fields: Record<string, string> = Array.isArray(hash) ? pairsToObject(hash) : hash as Record<string, string>
  const history = (fields.history as string).split('\n')
  const job: JobRecord = {
    ...dec<Pick<JobRecord, 'jobId' | 'tenant' | 'type' | 'totalRows' | 'fileSize' | 'filename' | 'submittedAt'>>(fields.doc as string),
    status: fields.status as JobStatus,
    completedRows: Number(fields.completed),
    endTime: fields.end === '' ? null : Number(fields.end),
    history: []
  }
  for (let index = 0; index < history.length; index += 2) {
    job.history.push({ status: history[index] as JobStatus, at: Number(history[index + 1]) })
  }
  if (fields.failAt !== '') job.failAt = dec(fields.failAt as string)
  return job
}

function pairsToObject (pairs: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {}
  for (let index = 0; index < pairs.length; index += 2) result[pairs[index] as string] = pairs[index + 1] as string
  return result
}

/** A fault rule as its list entry: method or empty, path or empty, uses left, the rule's JSON. */
export function encFault (rule: FaultRule): string {
  return [rule.method === null ? '' : enc(rule.method), rule.path === null ? '' : enc(rule.path), String(rule.timesLeft), JSON.stringify(rule)].join('\n')
}

/** A fault rule from its JSON, with the uses left that the list entry holds. */
export function decFault (json: string, timesLeft: string): FaultRule {
  const rule = dec<FaultRule>(json)
  // JSON drops an undefined body; the rule always has the property.
  return { ...rule, body: rule.body, timesLeft: Number(timesLeft) }
}

/** A fault list entry split into its uses left and its JSON. */
export function decFaultEntry (entry: string): FaultRule {
  const fields = entry.split('\n')
  return decFault(fields.slice(3).join('\n'), fields[2] as string)
}

/** A journal entry: the tenant's tag (empty without a tenant), the number the store gave it, the record's JSON. */
export function decJournal (entry: string): { tag: string, record: JournalRecord } {
  const first = entry.indexOf('\n')
  const second = entry.indexOf('\n', first + 1)
  return { tag: entry.slice(0, first), record: { ...dec<Omit<JournalRecord, 'id'>>(entry.slice(second + 1)), id: Number(entry.slice(first + 1, second)) } }
}

/** The journal tag of a tenant. */
export function journalTag (tenant: string | null): string {
  return tenant === null ? '' : enc(tenant)
}

/** A Redis glob pattern matching `literal` exactly (SCAN MATCH). */
export function globEscape (literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&')
}
