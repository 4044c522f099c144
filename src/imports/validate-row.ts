import { Type } from '@sinclair/typebox'
import { MetadataSchema, type JsonValue, type MetadataMode } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { IMPORT_EVENT_TYPES, IMPORT_FIELDS, IMPORT_SOURCES, ImportRowSchemas } from '../../schemas/imports.js'
import { excerpt, labelFor } from '../errors.js'
import { rowChecker, shortPath } from '../http/validation.js'
import type { ImportRow } from './import-row.js'

/** A row's type. */
type RowType = typeof IMPORT_EVENT_TYPES[number]

/** What a row became: the event it is, or what is wrong with it (never both). */
export type RowResult = { row: ImportRow, problems?: undefined } | { row?: undefined, problems: ErrorEntry[] }

/** Checks one parsed row (an NDJSON object, or a CSV row as an object) found on `line`. */
export type RowValidator = (raw: unknown, line: number) => RowResult

export interface RowValidatorOptions {
  mode: MetadataMode
  /** Sees each field the docs do not name, on a good row (the `unknown_field` warning). */
  onUnknown?: (name: string, line: number) => void
}

/** An instant read from an `inserted_at`: epoch milliseconds, and the microseconds within the millisecond when the text had them. */
export interface Timestamp { ms: number, micros?: number }

// ISO 8601 date and time, with `T` or the docs' space, seconds optional, up to
// nine fraction digits, and a zone `Z`, `±hh:mm`, `±hhmm` or `±hh` (none: UTC).
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/

/**
 * Reads `inserted_at`: `2024-07-28T08:55:35.874Z`, `2024-07-28T10:55:35+02:00`,
 * or the docs' own `2024-07-28 08:55:35.874555`. A time without a zone is UTC.
 * Digits past the microsecond are dropped. Undefined when the text is not such
 * a time or names a day, hour or minute that does not exist (Feb 30, 24:00).
 */
export function parseTimestamp (text: string): Timestamp | undefined {
  const match = TIMESTAMP.exec(text)
  if (match === null) return undefined
  const [, year, month, day, hour, minute, second = '0', fraction = '', , sign, zoneHours, zoneMinutes = '0'] = match as unknown as string[]
  const date = new Date(0)
  // setUTCFullYear, unlike Date.UTC, reads years 0–99 as themselves.
  date.setUTCFullYear(Number(year), Number(month) - 1, Number(day))
  const fits = date.getUTCMonth() === Number(month) - 1 && date.getUTCDate() === Number(day) &&
    Number(hour) < 24 && Number(minute) < 60 && Number(second) < 60 && Number(zoneHours ?? 0) < 24 && Number(zoneMinutes) < 60
  if (!fits) return undefined
  const digits = fraction.padEnd(6, '0')
  date.setUTCHours(Number(hour), Number(minute), Number(second), Number(digits.slice(0, 3)))
  const offset = sign === undefined ? 0 : (sign === '-' ? -1 : 1) * (Number(zoneHours) * 60 + Number(zoneMinutes)) * 60_000
  const micros = Number(digits.slice(3, 6))
  const ms = date.getTime() - offset
  return micros === 0 ? { ms } : { ms, micros }
}

/** What a value is, in words, for a message. */
function kindOf (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`
}

function entry (code: string, message: string, details: string): ErrorEntry {
  return { error: labelFor(400), error_code: code, message, details }
}

/** Fields that web-client rows need besides their type's (SPEC 1.13). */
const WEB_CLIENT_FIELDS: readonly string[] = ['hostname', 'pathname', 'user_agent']
/** Fields a `url` stands for. */
const URL_FIELDS: readonly string[] = ['hostname', 'pathname']
const KNOWN: ReadonlySet<string> = new Set(IMPORT_FIELDS)
const SOURCES: ReadonlySet<string> = new Set(IMPORT_SOURCES)
const TYPE_LIST = IMPORT_EVENT_TYPES.join(', ')
const SOURCE_LIST = IMPORT_SOURCES.join(', ')

/** Which fields a row type reads, in one order for every type (IMPORT_FIELDS), and which of them it needs. */
interface Layout { fields: readonly string[], required: ReadonlySet<string> }

// The metadata mode changes no field's presence, so the layouts come from the schemas of either mode.
const LAYOUTS: ReadonlyMap<string, Layout> = new Map(Object.entries(ImportRowSchemas('primitives')).map(([type, schema]) => [type, {
  fields: IMPORT_FIELDS.filter((name) => name !== 'event_type' && Object.hasOwn(schema.properties, name)),
  required: new Set(schema.required)
}]))
/** What a row of no known type is still checked for. */
const ANY_TYPE: Layout = { fields: ['metadata', 'source', 'inserted_at'], required: new Set(['source', 'inserted_at']) }

/** A row's own field (never one inherited from Object.prototype); undefined when absent. */
function own (raw: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(raw, name) ? raw[name] : undefined
}

/** `a` or `an` before a type name. */
function article (type: string): string {
  return /^[aeiou]/.test(type) ? 'an' : 'a'
}

/**
 * A checker of import rows, compiled once per metadata mode: a row's type
 * decides which fields it needs and uses (schemas/imports.ts); a field, when
 * present, is a non-empty string; `source` is one of the documented six;
 * `inserted_at` one of the two documented forms; `url` an absolute URL, which
 * overrides `hostname` and `pathname`; metadata an object whose values follow
 * MOCK_METADATA, as in bulk rows. A good row becomes the event it records.
 */
export function importRowValidator (options: RowValidatorOptions): RowValidator {
  const checkMetadata = rowChecker(Type.Object({ metadata: MetadataSchema(options.mode) }), 'row')

  return (raw, line) => {
    const at = (name: string): string => `line ${line}: ${shortPath([name])}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return { problems: [entry('invalid_row', `Line ${line} must be a JSON object with an event_type and the fields of its type, not ${kindOf(raw)}.`, `line ${line}`)] }
    }
    const row = raw as Record<string, unknown>
    const problems: ErrorEntry[] = []
    const values = new Map<string, string>()
    const type = own(row, 'event_type')
    if (type === undefined) {
      problems.push(entry('missing_event_type', `Line ${line}: event_type is required: one of ${TYPE_LIST}.`, at('event_type')))
    } else if (type === '') {
      problems.push(entry('empty_event_type', `Line ${line}: event_type is empty: it must be one of ${TYPE_LIST}.`, at('event_type')))
    } else if (typeof type !== 'string' || !LAYOUTS.has(type)) {
      const got = typeof type === 'string' ? excerpt(type, 40) : kindOf(type)
      problems.push(entry('invalid_event_type', `Line ${line}: event_type must be one of ${TYPE_LIST}; got ${got}.`, at('event_type')))
    }
    // An unknown type still has its source, time and metadata checked: every type needs them.
    const { fields, required } = LAYOUTS.get(type as RowType) ?? ANY_TYPE
    const webClient = own(row, 'source') === 'web-client' && type !== 'identify_company'
    const hasUrl = own(row, 'url') !== undefined

    for (const name of fields) {
      const value = own(row, name)
      if (name === 'metadata') {
        if (value !== undefined) problems.push(...checkMetadata({ metadata: value }, line))
        continue
      }
      // A url overrides hostname and pathname: they are then neither needed nor read.
      if (hasUrl && URL_FIELDS.includes(name)) continue
      if (value === undefined) {
        const byType = required.has(name)
        if (!byType && !(webClient && WEB_CLIENT_FIELDS.includes(name))) continue
        const orUrl = URL_FIELDS.includes(name) ? ' (or a url, which stands for hostname and pathname)' : ''
        const why = name === 'source' || name === 'inserted_at' ? 'on every row' : byType ? `on ${article(type as string)} ${type as string} row` : 'when source is web-client'
        problems.push(entry(`missing_${name}`, `Line ${line}: ${name} is required ${why}${orUrl}.`, at(name)))
      } else if (typeof value !== 'string') {
        problems.push(entry(`invalid_${name}`, `Line ${line}: ${name} must be a string, not ${kindOf(value)}.`, at(name)))
      } else if (value === '') {
        problems.push(entry(`empty_${name}`, `Line ${line}: ${name} is empty: it must be a non-empty string.`, at(name)))
      } else {
        const problem = checkText(name, value, line)
        if (problem === undefined) values.set(name, value)
        else problems.push(entry(`invalid_${name}`, problem, at(name)))
      }
    }
    if (problems.length > 0) return { problems }

    if (options.onUnknown !== undefined) {
      for (const name of Object.keys(row)) if (!KNOWN.has(name)) options.onUnknown(name, line)
    }
    return { row: toImportRow(type as RowType, values, (own(row, 'metadata') ?? {}) as Record<string, JsonValue>) }
  }
}

/** What is wrong with a field's text beyond being a non-empty string, if anything. */
function checkText (name: string, value: string, line: number): string | undefined {
  if (name === 'source' && !SOURCES.has(value)) {
    return `Line ${line}: source must be one of ${SOURCE_LIST}; got ${excerpt(value, 40)}.`
  }
  if (name === 'inserted_at' && parseTimestamp(value) === undefined) {
    return `Line ${line}: inserted_at must be an ISO 8601 time such as 2024-07-28T08:55:35.874Z, or 2024-07-28 08:55:35.874555 (no zone: UTC); got ${excerpt(value, 40)}.`
  }
  if (name === 'url' && pageOf(value) === undefined) {
    return `Line ${line}: url must be an absolute URL such as https://app.example.com/settings; got ${excerpt(value, 40)}.`
  }
  return undefined
}

/** The host and path of an absolute URL with a host; undefined when it is not one. */
function pageOf (url: string): { hostname: string, pathname: string } | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return undefined
  }
  return parsed.hostname === '' ? undefined : { hostname: parsed.hostname, pathname: parsed.pathname }
}

/** The event a good row records; optional fields only when the row has them. */
function toImportRow (type: RowType, values: ReadonlyMap<string, string>, metadata: Record<string, JsonValue>): ImportRow {
  const time = parseTimestamp(values.get('inserted_at') as string) as Timestamp
  const row: ImportRow = {
    eventType: type,
    eventName: type === 'track' ? values.get('event_name') as string : '',
    userId: type === 'identify_company' ? null : values.get('user_id') as string,
    companyId: values.get('company_id') ?? null,
    metadata,
    source: values.get('source') as string,
    insertedAt: time.ms
  }
  if (time.micros !== undefined) row.micros = time.micros
  const url = values.get('url')
  const page = url === undefined ? undefined : pageOf(url)
  const hostname = page?.hostname ?? values.get('hostname')
  const pathname = page?.pathname ?? values.get('pathname')
  const userAgent = values.get('user_agent')
  if (hostname !== undefined) row.hostname = hostname
  if (pathname !== undefined) row.pathname = pathname
  if (userAgent !== undefined) row.userAgent = userAgent
  return row
}
