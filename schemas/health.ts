import { Type, type Static } from '@sinclair/typebox'

/** `GET /__mock/health`. */
export const Health = Type.Object({
  status: Type.Literal('ok'),
  version: Type.String(),
  uptime_s: Type.Integer({ minimum: 0 })
}, { title: 'Health', additionalProperties: false })

export type Health = Static<typeof Health>
