import { createRequire } from 'node:module'
import type { FastifySerializerCompiler } from 'fastify'

type Schema = Record<string, unknown>
type Build = (schema: Schema) => (data: unknown) => string

const load = createRequire(import.meta.url)
let build: Build | undefined

/**
 * fast-json-stringify (and the Ajv it brings for its own use) is loaded with
 * the first answer that needs it rather than at start-up: the mock is ready
 * in less time, and a process that only answers health checks never loads it.
 */
function fastJson (): Build {
  build ??= load('fast-json-stringify') as Build
  return build
}

const PRIMITIVES = new Set(['string', 'number', 'integer', 'boolean', 'null'])
/** Keywords that only describe a value; a branch with nothing else is a bare type. */
const ANNOTATIONS = new Set(['type', 'format', 'description', 'title', 'examples', 'default'])

/** Keywords whose value is a map of name to schema. */
const NAMED_SCHEMAS = new Set(['properties', 'patternProperties', '$defs', 'definitions'])
/** Keywords whose value is data, not a schema. */
const VALUES = new Set(['examples', 'enum', 'const', 'default', 'required'])

function isSchema (value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isBareType (branch: Schema): boolean {
  return typeof branch.type === 'string' && PRIMITIVES.has(branch.type) && Object.keys(branch).every((key) => ANNOTATIONS.has(key))
}

/**
 * The same values written so that fast-json-stringify picks the branch by
 * `typeof` instead of running Ajv on each `anyOf` branch for every answer
 * (which cost more than the rest of the 202's serialization):
 * - a union of string literals becomes a string `enum`;
 * - a union of bare types (say string or null) becomes a type list.
 * Anything else is left as it is. Only the serializer sees this; validation
 * and the OpenAPI document keep the schemas as written.
 */
export function forSerializer (schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forSerializer)
  if (!isSchema(schema)) return schema
  const out: Schema = {}
  for (const [key, value] of Object.entries(schema)) {
    if (NAMED_SCHEMAS.has(key) && isSchema(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, each]) => [name, forSerializer(each)]))
    else out[key] = VALUES.has(key) ? value : forSerializer(value)
  }
  const branches = out.anyOf
  if (!Array.isArray(branches) || branches.length === 0 || !branches.every(isSchema)) return out
  const { anyOf: _anyOf, ...rest } = out
  if (branches.every((branch) => typeof branch.const === 'string')) {
    return { ...rest, type: 'string', enum: branches.map((branch) => branch.const) }
  }
  if (branches.every(isBareType)) {
    const types = [...new Set(branches.map((branch) => branch.type as string))]
    const formats = new Set(branches.map((branch) => branch.format).filter((format) => format !== undefined))
    return { ...rest, type: types, ...(formats.size === 1 ? { format: [...formats][0] } : {}) }
  }
  return out
}

/**
 * Response serializers are compiled on a route's first answer with that
 * status, not at start-up (test/http/serialization.test.ts compiles every
 * route's schemas, so a broken one still fails the tests).
 */
export const serializerCompiler: FastifySerializerCompiler<unknown> = ({ schema }) => {
  let serialize: ((data: unknown) => string) | undefined
  return (data: unknown) => {
    serialize ??= fastJson()(forSerializer(schema) as Schema)
    return serialize(data)
  }
}
