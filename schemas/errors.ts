import { Type, type Static } from '@sinclair/typebox'

/** One entry of Userpilot's error envelope. */
export const ErrorEntry = Type.Object({
  error: Type.String({ description: 'Short label, e.g. `invalid_request` or `unauthorized`.' }),
  error_code: Type.String({ description: 'Stable machine code, e.g. `missing_user_id`.' }),
  message: Type.String({ description: 'A sentence for a person: what was wrong and how to fix it.' }),
  details: Type.String({ description: 'The JSON path of the problem, or a description of the offending value.' })
}, { title: 'ErrorEntry', additionalProperties: false })

/** Userpilot's error envelope, used for every 4xx and 5xx. */
export const ErrorEnvelope = Type.Object({
  errors: Type.Array(ErrorEntry, { minItems: 1 })
}, {
  title: 'ErrorEnvelope',
  additionalProperties: false,
  examples: [{
    errors: [{
      error: 'invalid_request',
      error_code: 'missing_user_id',
      message: 'Each user needs a non-empty string user_id; users[3] has none.',
      details: '/users/3/user_id'
    }]
  }]
})

export type ErrorEntry = Static<typeof ErrorEntry>
export type ErrorEnvelope = Static<typeof ErrorEnvelope>
