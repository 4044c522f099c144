import { Kind, type TSchema } from '@sinclair/typebox'
import type { FastifyRequest, preHandlerHookHandler } from 'fastify'
import { NESTED_WARNING } from '../../schemas/bulk.js'
import type { Warning } from '../../schemas/control.js'
import { API_VERSION } from '../../schemas/realtime.js'
import { ApiError, excerpt, labelFor } from '../errors.js'
import { MAX_ERRORS, shortPath } from './validation.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Where the request strays from the docs (SPEC 1.12); null until the first warning. */
    warnings: Warnings | null
  }
  interface FastifyContextConfig {
    /** The docs require `X-API-Version: 2020-09-22` on this route. */
    apiVersion?: boolean
  }
}

/**
 * A request's fidelity warnings: what the docs forbid or do not name, which
 * the mock tolerates and reports. An unknown field is reported once per name.
 */
export class Warnings {
  readonly list: Warning[] = []
  readonly #fields = new Set<string>()

  add (warning: Warning): void {
    this.list.push(warning)
  }

  /** A field the docs do not name, in an object whose documented fields are `known`; `place` prefixes paths (an upload's line). */
  unknownField (name: string, at: readonly string[], known: readonly string[], place = ''): void {
    if (this.#fields.has(name)) return
    this.#fields.add(name)
    const where = at.length === 0 ? (place === '' ? 'in the body' : `on ${place.slice(0, -2)}`) : `in ${place}${shortPath(at)}`
    this.add({
      code: 'unknown_field',
      message: `${excerpt(name, 40)} is not a field Userpilot documents ${where} (${known.join(', ')}); the real service may refuse or drop it. Custom properties belong in metadata.`,
      path: `${place}${shortPath([...at, name])}`
    })
  }
}

/** The request's warnings, created on first use. */
export function warningsOf (request: FastifyRequest): Warnings {
  request.warnings ??= new Warnings()
  return request.warnings
}

/** A missing or unexpected `X-API-Version` where the docs require it. */
export function apiVersionWarning (header: string | string[] | undefined): Warning | undefined {
  if (header === undefined) {
    return { code: 'missing_api_version', message: `The X-API-Version header is missing: Userpilot's docs require "X-API-Version: ${API_VERSION}" on this call.` }
  }
  const value = String(header).trim()
  if (value === API_VERSION) return undefined
  return { code: 'unknown_api_version', message: `X-API-Version is ${excerpt(value, 40)}; the version Userpilot documents is ${API_VERSION}.` }
}

type Schema = TSchema & { properties?: Record<string, TSchema>, additionalProperties?: boolean | TSchema, patternProperties?: Record<string, TSchema>, items?: TSchema }

/**
 * Walks a body beside the schema that validated it and reports what the docs
 * do not name: fields outside an object's documented ones (unless the object
 * takes any, as the identify company object does) and objects or arrays where
 * a schema only tolerates them (real-time metadata). Bulk metadata is never
 * walked: its schema admits no nesting, so the walk costs a row's own keys.
 */
export function inspectBody (schema: TSchema, value: unknown, warnings: Warnings, at: string[] = [], place = ''): void {
  if (typeof value !== 'object' || value === null) return
  const node = schema as Schema
  if (node[NESTED_WARNING] === true) {
    const path = `${place}${shortPath(at)}`
    warnings.add({
      code: 'nested_metadata',
      message: `${path} is ${Array.isArray(value) ? 'an array' : 'an object'}: Userpilot documents only strings, numbers, booleans and null as property values. The mock keeps it as sent.`,
      path
    })
    return
  }
  const kind = node[Kind] as string
  if (kind === 'Array' && Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) descend(node.items as TSchema, value[index], warnings, at, String(index), place)
  } else if (kind === 'Object' && !Array.isArray(value)) {
    const properties = node.properties as Record<string, TSchema>
    for (const key of Object.keys(value)) {
      const child = Object.hasOwn(properties, key) ? properties[key] : node.additionalProperties
      const item = (value as Record<string, unknown>)[key]
      if (child === undefined) warnings.unknownField(key, at, Object.keys(properties), place)
      else if (typeof child === 'object') descend(child, item, warnings, at, key, place)
    }
  } else if (kind === 'Record') {
    const values = Object.values(node.patternProperties as Record<string, TSchema>)[0] as TSchema
    if (values[NESTED_WARNING] !== true) return
    for (const key of Object.keys(value)) descend(values, (value as Record<string, unknown>)[key], warnings, at, key, place)
  }
}

/** One level down: `at` is one path for the whole walk, never kept (warnings copy it into their text), so 10,000 rows cost no arrays. */
function descend (schema: TSchema, value: unknown, warnings: Warnings, at: string[], segment: string, place: string): void {
  if (typeof value !== 'object' || value === null) return
  at.push(segment)
  inspectBody(schema, value, warnings, at, place)
  at.pop()
}

/** Under MOCK_STRICT=true: every warning becomes an entry of one 400, with the warning's code. */
export function strictError (warnings: Warnings | null): ApiError | undefined {
  if (warnings === null || warnings.list.length === 0) return undefined
  return new ApiError(400, warnings.list.slice(0, MAX_ERRORS).map((warning) => ({
    error: labelFor(400),
    error_code: warning.code,
    message: `${warning.message} (MOCK_STRICT=true refuses this.)`,
    // Only the X-API-Version warnings have no path.
    details: warning.path ?? 'header x-api-version'
  })))
}

/** For warnings found in a handler (an upload's rows, an unknown user): under MOCK_STRICT=true, the 400 now. */
export function refuseIfStrict (request: FastifyRequest, strict: boolean): void {
  const refused = strict ? strictError(request.warnings) : undefined
  if (refused !== undefined) throw refused
}

/** The JSON schema of a route's body (bulk routes list one per content type). */
function jsonBodySchema (body: unknown): TSchema | undefined {
  const content = (body as { content?: Record<string, { schema: TSchema }> } | undefined)?.content
  // A route that takes only uploads (POST /v1/imports) lists no JSON body at all.
  return content === undefined ? body as TSchema | undefined : content['application/json']?.schema
}

/**
 * After validation, on every `/v1` route: the X-API-Version check where the
 * route's config asks for it, and the body walk. Under MOCK_STRICT=true any
 * warning ends the request with a 400; otherwise they reach the journal and
 * the log line.
 */
export function fidelityHook (strict: boolean): preHandlerHookHandler {
  return function fidelity (request, _reply, done) {
    if (request.routeOptions.config.apiVersion === true) {
      const warning = apiVersionWarning(request.headers['x-api-version'])
      if (warning !== undefined) warningsOf(request).add(warning)
    }
    const schema = jsonBodySchema(request.routeOptions.schema?.body)
    if (schema !== undefined && request.body !== undefined) inspectBody(schema, request.body, warningsOf(request))
    done(strict ? strictError(request.warnings) : undefined)
  }
}
