import { Readable } from 'node:stream'
import { deepStrictEqual, equal, ok } from 'node:assert/strict'
import t from 'tap'
import fc from 'fast-check'
import { Value } from '@sinclair/typebox/value'
import type { MetadataMode } from '../../schemas/bulk.js'
import { ErrorEntry } from '../../schemas/errors.js'
import { IMPORT_FIELDS, IMPORT_SOURCES, ImportRowSchemas } from '../../schemas/imports.js'
import { ApiError } from '../../src/errors.js'
import { RowCollector } from '../../src/imports/collector.js'
import type { ImportRow } from '../../src/imports/import-row.js'
import { readImportCsv } from '../../src/imports/parse-csv.js'
import { readImportNdjson } from '../../src/imports/parse-ndjson.js'
import { importRowValidator, parseTimestamp } from '../../src/imports/validate-row.js'
import { runSettings } from './arbitraries.js'

// Properties of import rows (SPEC 1.13): every valid row of any type, in either
// timestamp form, becomes exactly the event the rules say; breaking one field
// of it gives exactly one problem, naming that field; no input makes the
// validator throw; and the same rows read the same from CSV as from NDJSON.

const RUNS = runSettings(150)
const validators: Record<MetadataMode, ReturnType<typeof importRowValidator>> = {
  primitives: importRowValidator({ mode: 'primitives' }),
  strings: importRowValidator({ mode: 'strings' })
}

// --- timestamps ---

interface TimeSpec {
  /** The instant, in epoch ms. */
  ms: number
  micros: number
  /** Zone offset in minutes; 0 for the forms without a zone. */
  offset: number
  form: 'z' | 'offset' | 'none' | 'docs'
  /** Digits written past the microsecond (dropped by the reader). */
  nanos: string
}

const two = (n: number): string => String(n).padStart(2, '0')

/** The text of a TimeSpec in its form. */
function formatTime (spec: TimeSpec): string {
  const local = new Date(spec.ms + spec.offset * 60_000)
  const date = `${String(local.getUTCFullYear()).padStart(4, '0')}-${two(local.getUTCMonth() + 1)}-${two(local.getUTCDate())}`
  const time = `${two(local.getUTCHours())}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`
  const millis = String(local.getUTCMilliseconds()).padStart(3, '0')
  const fraction = spec.micros > 0 || spec.nanos !== '' ? `.${millis}${String(spec.micros).padStart(3, '0')}${spec.nanos}` : `.${millis}`
  const sign = spec.offset < 0 ? '-' : '+'
  const zone = spec.form === 'z' ? 'Z' : spec.form === 'offset' ? `${sign}${two(Math.floor(Math.abs(spec.offset) / 60))}:${two(Math.abs(spec.offset) % 60)}` : ''
  return `${date}${spec.form === 'docs' ? ' ' : 'T'}${time}${fraction}${zone}`
}

const timeSpec: fc.Arbitrary<TimeSpec> = fc.record({
  // Years 2 to 9998, so that a zone offset never writes a year outside 0000–9999.
  ms: fc.integer({ min: Date.parse('0002-01-01T00:00:00Z'), max: Date.parse('9998-12-31T00:00:00Z') }),
  micros: fc.integer({ min: 0, max: 999 }),
  offset: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
  form: fc.constantFrom('z' as const, 'offset' as const, 'none' as const, 'docs' as const),
  nanos: fc.constantFrom('', '0', '999', '12')
}).map((spec) => spec.form === 'offset' ? spec : { ...spec, offset: 0 })

// --- rows ---

const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 })
const host = fc.stringMatching(/^[a-z][a-z0-9]{0,10}(\.[a-z]{2,5}){1,2}$/)
const path = fc.stringMatching(/^(\/[a-z0-9_-]{1,8}){0,3}$/).map((p) => p === '' ? '/' : p)
const metadataValue = (mode: MetadataMode): fc.Arbitrary<string | number | boolean | null> =>
  mode === 'strings' ? fc.option(fc.string({ unit: 'grapheme', maxLength: 10 }), { nil: null }) : fc.oneof(fc.string({ unit: 'grapheme', maxLength: 10 }), fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => n === 0 ? 0 : n), fc.boolean(), fc.constant(null))
const metadata = (mode: MetadataMode) => fc.dictionary(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }).filter((key) => key !== '__proto__'), metadataValue(mode), { maxKeys: 5 })
  // fast-check's dictionaries have no prototype; a parsed JSON object has Object's.
  .map((dictionary) => ({ ...dictionary }))

/** A valid row as sent, and the event the rules make of it. */
interface Case { raw: Record<string, unknown>, expected: ImportRow, mode: MetadataMode, line: number }

const TYPES = ['identify_user', 'identify_company', 'page_view', 'track'] as const

function validCase (mode: MetadataMode): fc.Arbitrary<Case> {
  return fc.record({
    type: fc.constantFrom(...TYPES),
    source: fc.constantFrom(...IMPORT_SOURCES),
    userId: text,
    companyId: fc.option(text, { nil: undefined }),
    eventName: text,
    time: timeSpec,
    metadata: fc.option(metadata(mode), { nil: undefined }),
    page: fc.record({ host, path, useUrl: fc.boolean(), alsoFields: fc.boolean(), withPage: fc.boolean() }),
    userAgent: fc.option(text, { nil: undefined }),
    ignored: fc.dictionary(fc.constantFrom('user_id', 'event_name', 'hostname', 'pathname', 'url', 'user_agent'), fc.jsonValue()),
    line: fc.integer({ min: 1, max: 1_000_000 })
  }).map(({ type, source, userId, companyId, eventName, time, metadata, page, userAgent, ignored, line }) => {
    const at = parseTimestamp(formatTime(time))
    const raw: Record<string, unknown> = { event_type: type, source, inserted_at: formatTime(time) }
    const expected: ImportRow = { eventType: type, eventName: '', userId: null, companyId: companyId ?? null, metadata: metadata ?? {}, source, insertedAt: time.ms }
    if (time.micros > 0) expected.micros = time.micros
    equal(at?.ms, time.ms, `timestamp ${formatTime(time)}`)
    if (metadata !== undefined) raw.metadata = metadata
    if (type === 'identify_company') {
      // Only company_id, source, inserted_at and metadata are used: anything in the other fields is ignored.
      Object.assign(raw, ignored, { company_id: companyId ?? userId })
      expected.companyId = companyId ?? userId
      return { raw, expected, mode, line }
    }
    raw.user_id = userId
    expected.userId = userId
    if (companyId !== undefined) raw.company_id = companyId
    if (type === 'track') {
      raw.event_name = eventName
      expected.eventName = eventName
    }
    const web = source === 'web-client'
    const needsPage = type === 'page_view' || web
    if (needsPage || page.withPage) {
      if (page.useUrl) raw.url = `https://${page.host}${page.path}?q=1#f`
      if (!page.useUrl || page.alsoFields) Object.assign(raw, { hostname: page.useUrl ? 'ignored.example' : page.host, pathname: page.useUrl ? '/ignored' : page.path })
      expected.hostname = page.host
      expected.pathname = page.path
    }
    const agent = userAgent ?? (web ? 'Mozilla/5.0' : undefined)
    if (agent !== undefined) {
      raw.user_agent = agent
      expected.userAgent = agent
    }
    return { raw, expected, mode, line }
  })
}

const anyCase = fc.constantFrom<MetadataMode>('primitives', 'strings').chain(validCase)

t.test('a valid row of any type becomes exactly the event the rules say, and fits its type\'s schema', async () => {
  fc.assert(fc.property(anyCase, ({ raw, expected, mode, line }) => {
    const result = validators[mode](raw, line)
    deepStrictEqual(result.problems, undefined)
    deepStrictEqual(result.row, expected)
    const urlStandsIn = raw.event_type === 'page_view' && raw.hostname === undefined
    if (!urlStandsIn) ok(Value.Check(ImportRowSchemas(mode)[raw.event_type as typeof TYPES[number]], raw), 'the row fits its TypeBox schema')
  }), RUNS)
})

t.test('both timestamp forms read back the instant and its microseconds, whatever the zone', async () => {
  fc.assert(fc.property(timeSpec, (spec) => {
    deepStrictEqual(parseTimestamp(formatTime(spec)), spec.micros > 0 ? { ms: spec.ms, micros: spec.micros } : { ms: spec.ms })
  }), RUNS)
})

/** The fields a valid row cannot lose without becoming bad: its type's, and web-client's (a url stands for hostname and pathname). */
function requiredFields (raw: Record<string, unknown>): string[] {
  const type = raw.event_type as typeof TYPES[number]
  const needed = ['event_type', 'source', 'inserted_at', ...{ identify_user: ['user_id'], identify_company: ['company_id'], page_view: ['user_id'], track: ['user_id', 'event_name'] }[type]]
  const page = raw.url === undefined ? ['hostname', 'pathname'] : []
  if (type === 'page_view') needed.push(...page)
  if (raw.source === 'web-client' && type !== 'identify_company') needed.push(...page, 'user_agent')
  return [...new Set(needed)]
}

/** Ways to break a field: the problem's kind, and what the field becomes (undefined: removed). */
const BREAKAGES: Array<[string, () => unknown]> = [
  ['missing', () => undefined],
  ['empty', () => ''],
  ['invalid', () => 42],
  ['invalid', () => null],
  ['invalid', () => ['x']],
  ['invalid', () => ({ value: 'x' })],
  ['invalid', () => false]
]
const breakage = fc.constantFrom(...BREAKAGES)

t.test('breaking one required field of a valid row gives one problem, naming that field on the row\'s line', async () => {
  fc.assert(fc.property(anyCase.chain((c) => fc.tuple(fc.constant(c), fc.constantFrom(...requiredFields(c.raw)), breakage)), ([{ raw, mode, line }, field, [kind, replace]]) => {
    const broken = { ...raw, [field]: replace() }
    if (broken[field] === undefined) delete broken[field]
    const problems = validators[mode](broken, line).problems ?? []
    deepStrictEqual(problems.map((problem) => [problem.error_code, problem.details]), [[`${kind}_${field}`, `line ${line}: /${field}`]])
  }), RUNS)
})

t.test('a bad inserted_at, source or url is named as such', async () => {
  const badTime = fc.constantFrom('2024-02-30T00:00:00Z', '2024-07-28', 'now', '2024-07-28T08:55:35+25:00', '2024-07-28T08:55:60Z', '1722156935874')
  const badSource = fc.string({ maxLength: 20 }).filter((source) => source !== '' && !(IMPORT_SOURCES as readonly string[]).includes(source))
  fc.assert(fc.property(anyCase, fc.oneof(badTime.map((value) => ['inserted_at', value]), badSource.map((value) => ['source', value]), fc.constant(['url', 'not a url'])), ({ raw, mode, line }, [field, value]) => {
    if (field === 'url' && raw.event_type === 'identify_company') return
    const problems = validators[mode]({ ...raw, [field as string]: value }, line).problems ?? []
    deepStrictEqual(problems.map((problem) => [problem.error_code, problem.details]), [[`invalid_${field as string}`, `line ${line}: /${field as string}`]])
  }), RUNS)
})

const looseRow = fc.dictionary(fc.constantFrom(...IMPORT_FIELDS, 'email', '__proto__', 'constructor'), fc.oneof(fc.jsonValue(), fc.constantFrom(...TYPES), fc.constantFrom(...IMPORT_SOURCES)))

t.test('no input makes the validator throw; each answer is a row or well-formed problems on the line', async () => {
  fc.assert(fc.property(fc.oneof(fc.anything(), looseRow), fc.constantFrom<MetadataMode>('primitives', 'strings'), fc.integer({ min: 1, max: 99 }), (raw, mode, line) => {
    const result = validators[mode](raw, line)
    ok((result.row === undefined) !== (result.problems === undefined), 'a row or problems')
    for (const problem of result.problems ?? []) {
      ok(Value.Check(ErrorEntry, problem), 'an envelope entry')
      ok(problem.details === `line ${line}` || problem.details.startsWith(`line ${line}: /`), problem.details)
      ok(problem.message.length <= 300 && problem.message.startsWith(`Line ${line}`), problem.message)
    }
    ok((result.problems?.length ?? 1) > 0, 'problems are never an empty list')
  }), RUNS)
})

// --- CSV and NDJSON give the same rows ---

/** A CSV cell, always quoted: quotes doubled, commas and line breaks kept inside. */
const cell = (value: string): string => `"${value.replace(/"/g, '""')}"`

async function readBoth (cases: Case[], eol: string, chunk: number): Promise<[unknown, unknown]> {
  const read = async (content: string, reader: typeof readImportCsv): Promise<unknown> => {
    const collector = new RowCollector(validators.primitives, 1000)
    const bytes = Buffer.from(content)
    const chunks = Array.from({ length: Math.ceil(bytes.length / chunk) }, (_, i) => bytes.subarray(i * chunk, (i + 1) * chunk))
    try {
      await reader(Readable.from(chunks), collector)
      return collector.finish()
    } catch (error) {
      return error instanceof ApiError ? error.entries : error
    }
  }
  const columns = [...IMPORT_FIELDS]
  const csvLines = [columns.map(cell).join(',')]
  for (const { raw } of cases) {
    csvLines.push(columns.map((name) => {
      const value = raw[name]
      if (value === undefined) return ''
      return cell(name === 'metadata' ? JSON.stringify(value) : String(value))
    }).join(','))
  }
  const csv = csvLines.join(eol) + eol
  const ndjson = cases.map(({ raw }) => JSON.stringify(raw)).join(eol) + eol
  return [await read(csv, readImportCsv), await read(ndjson, readImportNdjson)]
}

/** Physical line of each CSV row: after the header, each row starts where the previous one's line breaks end. */
function csvLines (cases: Case[]): number[] {
  const lines: number[] = []
  let next = 2
  for (const { raw } of cases) {
    lines.push(next)
    const cells = IMPORT_FIELDS.map((name) => raw[name] === undefined ? '' : name === 'metadata' ? JSON.stringify(raw[name]) : String(raw[name]))
    next += 1 + cells.join('').split('\n').length - 1
  }
  return lines
}

t.test('the same valid rows read the same from a CSV file (every cell quoted) and from NDJSON', async () => {
  // Rows whose fields are strings (identify_company's ignored fields are not), with line breaks, quotes and commas in them.
  const hostile = fc.constantFrom('a,b', 'say "hi"', 'two\nlines', 'crlf\r\nbreak', ' padded ', '=1+1', 'ü😀')
  const csvCase = validCase('primitives').filter(({ raw }) => Object.values(raw).every((value) => typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value))))
  const withText = fc.tuple(csvCase, hostile).map(([c, extra]) => {
    if (c.raw.event_type !== 'identify_company') return c
    return { ...c, raw: { ...c.raw, company_id: `${c.raw.company_id as string}${extra}` }, expected: { ...c.expected, companyId: `${c.expected.companyId as string}${extra}` } }
  })
  await fc.assert(fc.asyncProperty(fc.array(withText, { minLength: 1, maxLength: 6 }), fc.constantFrom('\n', '\r\n'), fc.integer({ min: 1, max: 64 }), async (cases, eol, chunk) => {
    const [fromCsv, fromNdjson] = await readBoth(cases, eol, chunk)
    const rows = cases.map((c) => c.expected)
    deepStrictEqual(fromNdjson, { rows, lines: cases.map((_, i) => i + 1) })
    deepStrictEqual(fromCsv, { rows, lines: csvLines(cases) })
  }), { ...RUNS, numRuns: Math.max(1, Math.round((RUNS.numRuns as number) / 3)) })
})
