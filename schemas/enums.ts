import { Type, type TLiteral, type TUnion } from '@sinclair/typebox'

/** A TypeBox union of string literals, so each enumeration is written once as a tuple. */
export function StringEnum<const T extends readonly string[]> (values: T, options: { description?: string, default?: T[number] } = {}): TUnion<Array<TLiteral<T[number]>>> {
  return Type.Union(values.map((value) => Type.Literal(value)), options)
}
