import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { excerpt, labelFor, shortText } from '../errors.js'

/** Most error entries in one response, as SPEC 1.2 says. */
export const MAX_ERRORS = 100

/** What the validator hands to the error handler for each problem. */
interface Problem extends FastifySchemaValidationError {
  params: { type: ValueErrorType, description: string | undefined, collection: string | null }
}

/** The rows a bulk route takes (`/v1/users/bulk_identify` → `users`); null for other routes. */
function bulkCollection (url: string): string | null {
  return /\/(\w+)\/bulk_identify$/.exec(url)?.[1] ?? null
}

function collect (errors: Iterable<ValueError>, collection: string | null = null): Problem[] {
  const problems: Problem[] = []
  const seen = new Set<string>()
  for (const error of errors) {
    // TypeBox may report one field twice (missing, then not a string): the first says it best.
    if (seen.has(error.path)) continue
    seen.add(error.path)
    problems.push({
      keyword: ValueErrorType[error.type] as string,
      instancePath: error.path,
      schemaPath: '',
      message: error.message,
      params: { type: error.type, description: error.schema.description as string | undefined, collection }
    })
    if (problems.length === MAX_ERRORS) break
  }
  return problems
}

/** Whether a `default` appears anywhere in the schema. */
function declaresDefault (schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false
  return Object.hasOwn(schema, 'default') || Object.values(schema).some(declaresDefault)
}

/**
 * Compiles each route schema once, at start-up, with TypeBox's compiler.
 * Bodies are checked as sent (never coerced: a numeric user_id is an error,
 * never defaulted); query strings and params get defaults and string-to-number
 * conversion.
 * Errors are read lazily, so a body with 10,000 bad rows costs 100 errors.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart, contentType, url }) => {
  // A multipart body is documented by its schema but read as a stream and checked line by line.
  if (contentType === 'multipart/form-data') return () => true
  const check = TypeCompiler.Compile(schema)
  if (httpPart === 'body') {
    const collection = bulkCollection(url)
    // Bodies are checked exactly as parsed and never altered (their defaults are
    // the handlers'): Value.Default would copy an own "__proto__" key, which
    // JSON.parse makes, into a prototype that slips past additionalProperties.
    return (value: unknown) => check.Check(value) ? { value } : { error: collect(check.Errors(value), collection) }
  }
  // Converting and defaulting copy the input; a value that already passes and
  // has no default to take (say a job id in the path) is used as it is.
  const asIs = !declaresDefault(schema)
  return (value: unknown) => {
    if (asIs && check.Check(value)) return { value }
    const input = Value.Default(schema, Value.Convert(schema, value))
    if (check.Check(input)) return { value: input }
    return { error: collect(check.Errors(input)) }
  }
}

function decodePointer (path: string): string[] {
  return path === '' ? [] : path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
}

const SINGULAR: Readonly<Record<string, string>> = { users: 'user', companies: 'company' }
const ID_FIELD: Readonly<Record<string, string>> = { users: 'user_id', companies: 'company_id' }

function entry (errorCode: string, message: string, details: string): ErrorEntry {
  return { error: labelFor(400), error_code: errorCode, message, details }
}

/**
 * A JSON pointer again, each segment shortened so that no error echoes a huge
 * key, and escaped so that no control or bidi character reaches a message.
 */
function shortPath (segments: readonly string[]): string {
  return segments.map((part) => '/' + shortText(part, 64).replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}

/** Where a row sits, for messages: `users[3]` in a JSON body, `line 4` in an upload. */
interface RowPlace {
  noun: string
  /** The row itself, e.g. `users[3]`. */
  row: string
  /** A field of the row, e.g. `users[3].user_id`. */
  field: (name: string) => string
  /** `details` for a path inside the row. */
  details: (inside: readonly string[]) => string
}

/** One problem inside a row (`inside` is the path below the row). */
function rowEntry (place: RowPlace, inside: readonly string[], problem: Problem): ErrorEntry {
  const { type, description } = problem.params
  const [field, key] = inside
  const details = place.details(inside)
  if (field === undefined) {
    return entry(`invalid_${place.noun}`, `${place.row} must be an object.`, details)
  }
  if (key === undefined) {
    const label = place.field(field)
    if (type === ValueErrorType.ObjectRequiredProperty) {
      return entry(`missing_${field}`, `${label} is required: each ${place.noun} needs a non-empty string ${field}.`, details)
    }
    if (type === ValueErrorType.StringMinLength) {
      return entry(`empty_${field}`, `${label} is empty: it must be a non-empty string.`, details)
    }
    if (type === ValueErrorType.ObjectMaxProperties) {
      return entry(`too_many_${field}_keys`, `${label} has more than ${MAX_METADATA_KEYS} properties: send the rest in another request.`, details)
    }
    const expected = type === ValueErrorType.Object ? 'an object of properties' : 'a string'
    return entry(`invalid_${field}`, `${label} must be ${expected}.`, details)
  }
  if (type === ValueErrorType.Never) {
    return entry('invalid_metadata_key', `${place.field(field)} has a key that is empty or longer than 255 characters: ${excerpt(key, 32)}.`, details)
  }
  return entry('invalid_metadata_value', `${place.field(field)}[${excerpt(key, 32)}] is not accepted. Expected: ${description ?? 'a primitive value'}`, details)
}

function bodyEntry (problem: Problem): ErrorEntry {
  const segments = decodePointer(problem.instancePath)
  const [collection = '', index = ''] = segments
  const noun = SINGULAR[collection] ?? collection
  if (segments.length === 0) {
    const bulk = problem.params.collection as string
    return entry('invalid_body', `The body must be a JSON object such as {"${bulk}": [{"${ID_FIELD[bulk] as string}": "..."}]}.`, 'body')
  }
  if (segments.length === 1) {
    const details = shortPath(segments)
    if (problem.params.type === ValueErrorType.ObjectRequiredProperty) {
      return entry(`missing_${collection}`, `The body needs a "${collection}" array with at least one ${noun}.`, details)
    }
    if (problem.params.type === ValueErrorType.ArrayMinItems) {
      return entry(`empty_${collection}`, `"${collection}" is empty: send at least one ${noun}.`, details)
    }
    return entry(`invalid_${collection}`, `"${collection}" must be an array of ${noun} objects.`, details)
  }
  const row = `${collection}[${index}]`
  return rowEntry({
    noun,
    row,
    field: (name) => `${row}.${name}`,
    details: (inside) => shortPath([collection, index, ...inside])
  }, segments.slice(2), problem)
}

/**
 * A checker for single rows of an upload (one NDJSON line each), compiled
 * once from the row schema; its problems name the line.
 */
export function rowChecker (schema: TSchema, collection: string): (value: unknown, line: number) => ErrorEntry[] {
  const check = TypeCompiler.Compile(schema)
  const noun = SINGULAR[collection] ?? collection
  return (value, line) => {
    if (check.Check(value)) return []
    const place: RowPlace = {
      noun,
      row: `Line ${line}`,
      field: (name) => `Line ${line}: ${name}`,
      details: (inside) => inside.length === 0 ? `line ${line}` : `line ${line}: ${shortPath(inside)}`
    }
    return collect(check.Errors(value), collection).map((problem) => rowEntry(place, decodePointer(problem.instancePath), problem))
  }
}

/** What a generic problem expected: a union says it with its description, which names the choices. */
function expected (problem: Problem): string {
  const { type, description } = problem.params
  return type === ValueErrorType.Union && description !== undefined ? `expected ${description}` : String(problem.message)
}

function genericBodyEntry (problem: Problem): ErrorEntry {
  const path = shortPath(decodePointer(problem.instancePath))
  return entry('invalid_body', `${path === '' ? 'The body' : `Body field ${path}`}: ${expected(problem)}.`, `body${path}`)
}

/** Turns what {@link validatorCompiler} found into envelope entries. */
export function validationEntries (problems: readonly FastifySchemaValidationError[], httpPart: string): ErrorEntry[] {
  if (httpPart === 'body') {
    return (problems as Problem[]).map((problem) => typeof problem.params.collection === 'string'
      ? bodyEntry(problem)
      : genericBodyEntry(problem))
  }
  return problems.map((problem) => {
    const name = decodePointer(problem.instancePath).map((part) => shortText(part, 64)).join('.')
    return entry('invalid_parameter', `The ${httpPart} parameter "${name}" is not valid: ${problem.message}.`, `${httpPart}${shortPath(decodePointer(problem.instancePath))}`)
  })
}
