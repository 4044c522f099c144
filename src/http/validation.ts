import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import { BODY_SHAPE, MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { excerpt, labelFor, shortText } from '../errors.js'

/** Most error entries in one response, as SPEC 1.2 says. */
export const MAX_ERRORS = 100

/** How a body's problems are named (its schema's BODY_SHAPE), with the body's fields (each shaped body requires some). */
interface BodyShape {
  kind: 'rows' | 'ids' | 'single'
  /** The body's fields; for `rows` and `ids`, the first is the array. */
  fields: string[]
  required: string[]
}

/** What the validator hands to the error handler for each problem. */
interface Problem extends FastifySchemaValidationError {
  params: { type: ValueErrorType, description: string | undefined, shape: BodyShape | null }
}

/** The shape a body schema declares; null for bodies named generically (the control API's). */
function shapeOf (schema: TSchema): BodyShape | null {
  const kind = schema[BODY_SHAPE] as BodyShape['kind'] | undefined
  if (kind === undefined) return null
  return { kind, fields: Object.keys(schema.properties as object), required: schema.required as string[] }
}

function collect (errors: Iterable<ValueError>, shape: BodyShape | null = null): Problem[] {
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
      params: { type: error.type, description: error.schema.description as string | undefined, shape }
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
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart, contentType }) => {
  // A multipart body is documented by its schema but read as a stream and checked line by line.
  if (contentType === 'multipart/form-data') return () => true
  const check = TypeCompiler.Compile(schema)
  if (httpPart === 'body') {
    const shape = shapeOf(schema)
    // Bodies are checked exactly as parsed and never altered (their defaults are
    // the handlers'): Value.Default would copy an own "__proto__" key, which
    // JSON.parse makes, into a prototype that slips past additionalProperties.
    return (value: unknown) => check.Check(value) ? { value } : { error: collect(check.Errors(value), shape) }
  }
  // Converting and defaulting copy the input; a value that already passes and
  // has no default to take (say a job id in the path) is used as it is.
  const asIs = !declaresDefault(schema)
  const integers = integerFields(schema)
  return (value: unknown) => {
    if (asIs && check.Check(value)) return { value }
    // Read before converting: TypeBox converts the object in place.
    const kept = nonIntegers(integers, value as Record<string, unknown>)
    const input = Object.assign(Value.Default(schema, Value.Convert(schema, value)) as Record<string, unknown>, kept)
    if (check.Check(input)) return { value: input }
    return { error: collect(check.Errors(input)) }
  }
}

/** The integer fields of a query string, params or headers schema (each an object of fields). */
function integerFields (schema: TSchema): string[] {
  const properties = schema.properties as Record<string, TSchema>
  return Object.keys(properties).filter((name) => (properties[name] as TSchema).type === 'integer')
}

const INTEGER_TEXT = /^\s*-?\d+\s*$/

/**
 * TypeBox's conversion reads "2.5" as 2, "1e3" as 1 and "0x10" as 16: an
 * integer field sent as anything but an integer's digits keeps its text, so
 * that the check refuses it with the field named instead of truncating it.
 */
function nonIntegers (fields: readonly string[], raw: Record<string, unknown>): Record<string, string> {
  const kept: Record<string, string> = {}
  for (const field of fields) {
    const sent = raw[field]
    if (typeof sent === 'string' && !INTEGER_TEXT.test(sent)) kept[field] = sent
  }
  return kept
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
export function shortPath (segments: readonly string[]): string {
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

/** A body that is a list of rows (bulk) or of ids (delete). */
function listEntry (shape: BodyShape, segments: readonly string[], problem: Problem): ErrorEntry {
  const collection = shape.fields[0] as string
  const noun = SINGULAR[collection] as string
  const idField = ID_FIELD[collection] as string
  if (segments.length === 0) {
    const item = shape.kind === 'rows' ? `{"${idField}": "..."}` : '"..."'
    return entry('invalid_body', `The body must be a JSON object such as {"${collection}": [${item}]}.`, 'body')
  }
  const [, index = ''] = segments
  if (segments.length === 1) {
    const details = shortPath(segments)
    if (problem.params.type === ValueErrorType.ObjectRequiredProperty) {
      return entry(`missing_${collection}`, `The body needs a "${collection}" array with at least one ${noun}.`, details)
    }
    if (problem.params.type === ValueErrorType.ArrayMinItems) {
      return entry(`empty_${collection}`, `"${collection}" is empty: send at least one ${noun}.`, details)
    }
    return entry(`invalid_${collection}`, `"${collection}" must be an array of ${shape.kind === 'rows' ? `${noun} objects` : `${noun} ids (strings)`}.`, details)
  }
  const row = `${collection}[${index}]`
  if (shape.kind === 'ids') {
    const details = shortPath([collection, index])
    if (problem.params.type === ValueErrorType.StringMinLength) {
      return entry(`empty_${idField}`, `${row} is empty: each ${noun} id must be a non-empty string.`, details)
    }
    return entry(`invalid_${idField}`, `${row} must be a string: the id of a ${noun} to delete.`, details)
  }
  return rowEntry({
    noun,
    row,
    field: (name) => `${row}.${name}`,
    details: (inside) => shortPath([collection, index, ...inside])
  }, segments.slice(2), problem)
}

/** A body that is one object (real-time identify, company identify, track). */
function singleEntry (shape: BodyShape, segments: readonly string[], problem: Problem): ErrorEntry {
  if (segments.length === 0) {
    const optional = shape.fields.filter((field) => !shape.required.includes(field))
    const names = (fields: string[]): string => fields.map((field) => `"${field}"`).join(', ')
    // Every single-object body has optional fields (metadata at least).
    return entry('invalid_body', `The body must be a JSON object with ${names(shape.required)} (and optionally ${names(optional)}).`, 'body')
  }
  const [field, key] = segments
  // The company object's id is a field of its own, not one of the company's properties.
  if (field === 'company' && (key === 'id' || key === 'company_id')) {
    const details = shortPath(segments)
    if (problem.params.type === ValueErrorType.StringMinLength) {
      return entry('empty_company_id', `company.${key} is empty: the company's id must be a non-empty string.`, details)
    }
    return entry('invalid_company_id', `company.${key} must be a string: the company's id.`, details)
  }
  return rowEntry({ noun: 'request', row: 'The body', field: (name) => name, details: (inside) => shortPath(inside) }, segments, problem)
}

function bodyEntry (problem: Problem, shape: BodyShape): ErrorEntry {
  const segments = decodePointer(problem.instancePath)
  return shape.kind === 'single' ? singleEntry(shape, segments, problem) : listEntry(shape, segments, problem)
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
    return collect(check.Errors(value)).map((problem) => rowEntry(place, decodePointer(problem.instancePath), problem))
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
    return (problems as Problem[]).map((problem) => {
      // Problems from elsewhere (a route's own throw) may carry no params at all.
      const shape = problem.params.shape ?? null
      return shape === null ? genericBodyEntry(problem) : bodyEntry(problem, shape)
    })
  }
  return problems.map((problem) => {
    const name = decodePointer(problem.instancePath).map((part) => shortText(part, 64)).join('.')
    return entry('invalid_parameter', `The ${httpPart} parameter "${name}" is not valid: ${problem.message}.`, `${httpPart}${shortPath(decodePointer(problem.instancePath))}`)
  })
}
