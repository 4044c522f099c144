import { TypeCompiler } from '@sinclair/typebox/compiler'
import { Value } from '@sinclair/typebox/value'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import type { TSchema } from '@sinclair/typebox'
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify'
import type { ErrorEntry } from '../../schemas/errors.js'
import { excerpt, labelFor } from '../errors.js'

/** Most error entries in one response, as SPEC 1.2 says. */
export const MAX_ERRORS = 100

/** What the validator hands to the error handler for each problem. */
interface Problem extends FastifySchemaValidationError {
  params: { type: ValueErrorType, description: string | undefined }
}

function collect (errors: Iterable<ValueError>): Problem[] {
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
      params: { type: error.type, description: error.schema.description as string | undefined }
    })
    if (problems.length === MAX_ERRORS) break
  }
  return problems
}

/**
 * Compiles each route schema once, at start-up, with TypeBox's compiler.
 * Bodies are checked as sent (never coerced: a numeric user_id is an error);
 * query strings and params get defaults and string-to-number conversion.
 * Errors are read lazily, so a body with 10,000 bad rows costs 100 errors.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = TypeCompiler.Compile(schema)
  const coerce = httpPart !== 'body'
  return (value: unknown) => {
    const input = coerce ? Value.Default(schema, Value.Convert(schema, value)) : value
    if (check.Check(input)) return { value: input }
    return { error: collect(check.Errors(input)) }
  }
}

function decodePointer (path: string): string[] {
  return path === '' ? [] : path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
}

const SINGULAR: Readonly<Record<string, string>> = { users: 'user', companies: 'company' }

function entry (errorCode: string, message: string, details: string): ErrorEntry {
  return { error: labelFor(400), error_code: errorCode, message, details }
}

/** A JSON pointer again, each segment shortened so that no error echoes a huge key. */
function shortPath (segments: readonly string[]): string {
  return segments.map((part) => '/' + (part.length > 64 ? `${part.slice(0, 64)}…` : part).replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}

function bodyEntry (problem: Problem): ErrorEntry {
  const segments = decodePointer(problem.instancePath)
  const details = shortPath(segments)
  const { type, description } = problem.params
  const [collection = '', index, field, key] = segments
  const noun = SINGULAR[collection] ?? collection
  const row = `${collection}[${index ?? ''}]`
  if (segments.length === 0) {
    return entry('invalid_body', 'The body must be a JSON object such as {"users": [{"user_id": "..."}]}.', 'body')
  }
  if (segments.length === 1) {
    if (type === ValueErrorType.ObjectRequiredProperty) {
      return entry(`missing_${collection}`, `The body needs a "${collection}" array with at least one ${noun}.`, details)
    }
    if (type === ValueErrorType.ArrayMinItems) {
      return entry(`empty_${collection}`, `"${collection}" is empty: send at least one ${noun}.`, details)
    }
    return entry(`invalid_${collection}`, `"${collection}" must be an array of ${noun} objects.`, details)
  }
  if (segments.length === 2) {
    return entry(`invalid_${noun}`, `${row} must be an object.`, details)
  }
  if (segments.length === 3) {
    const label = `${row}.${field}`
    if (type === ValueErrorType.ObjectRequiredProperty) {
      return entry(`missing_${field}`, `${label} is required: each ${noun} needs a non-empty string ${field}.`, details)
    }
    if (type === ValueErrorType.StringMinLength) {
      return entry(`empty_${field}`, `${label} is empty: it must be a non-empty string.`, details)
    }
    const expected = type === ValueErrorType.Object ? 'an object of properties' : 'a string'
    return entry(`invalid_${field}`, `${label} must be ${expected}.`, details)
  }
  if (type === ValueErrorType.Never) {
    return entry('invalid_metadata_key', `${row}.metadata has a key that is empty or longer than 255 characters: ${excerpt(key as string, 32)}.`, details)
  }
  return entry('invalid_metadata_value', `${row}.metadata[${excerpt(key as string, 32)}] is not accepted. Expected: ${description ?? 'a primitive value'}`, details)
}

/** Turns what {@link validatorCompiler} found into envelope entries. */
export function validationEntries (problems: readonly FastifySchemaValidationError[], httpPart: string): ErrorEntry[] {
  if (httpPart === 'body') return (problems as Problem[]).map(bodyEntry)
  return problems.map((problem) => {
    const name = decodePointer(problem.instancePath).join('.')
    return entry('invalid_parameter', `The ${httpPart} parameter "${name}" is not valid: ${problem.message}.`, `${httpPart}${shortPath(decodePointer(problem.instancePath))}`)
  })
}
