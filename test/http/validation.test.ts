import t from 'tap'
import { Type } from '@sinclair/typebox'
import { MAX_METADATA_KEYS } from '../../schemas/bulk.js'
import type { ErrorEntry } from '../../schemas/errors.js'
import { bulkUsers, testApp, users } from '../helpers/app.js'
import { expectAccepted, expectErrors, expectJobList, invalid, listJobs } from '../helpers/http.js'

const PRIMITIVES = 'A string, number, boolean, or null to remove the property. Arrays and objects are rejected.'
const STRINGS = 'A string, or null to remove the property (MOCK_METADATA=strings).'

const invalidBody = invalid('invalid_body', 'The body must be a JSON object such as {"users": [{"user_id": "..."}]}.', 'body')
const missingUsers = invalid('missing_users', 'The body needs a "users" array with at least one user.', '/users')
const invalidUsers = invalid('invalid_users', '"users" must be an array of user objects.', '/users')
const emptyUsers = invalid('empty_users', '"users" is empty: send at least one user.', '/users')

const invalidUser = (row: number) => invalid('invalid_user', `users[${row}] must be an object.`, `/users/${row}`)
const missingUserId = (row: number) => invalid('missing_user_id', `users[${row}].user_id is required: each user needs a non-empty string user_id.`, `/users/${row}/user_id`)
const emptyUserId = (row: number) => invalid('empty_user_id', `users[${row}].user_id is empty: it must be a non-empty string.`, `/users/${row}/user_id`)
const invalidUserId = (row: number) => invalid('invalid_user_id', `users[${row}].user_id must be a string.`, `/users/${row}/user_id`)
const invalidCompanyId = (row: number) => invalid('invalid_company_id', `users[${row}].company_id must be a string.`, `/users/${row}/company_id`)
const invalidMetadata = (row: number) => invalid('invalid_metadata', `users[${row}].metadata must be an object of properties.`, `/users/${row}/metadata`)
const invalidValue = (row: number, key: string, expected = PRIMITIVES, details = `/users/${row}/metadata/${key}`) =>
  invalid('invalid_metadata_value', `users[${row}].metadata[${JSON.stringify(key)}] is not accepted. Expected: ${expected}`, details)
const invalidKey = (row: number, shown: string, details: string) =>
  invalid('invalid_metadata_key', `users[${row}].metadata has a key that is empty or longer than 255 characters: ${shown}.`, details)

/** Each case: a raw JSON payload and the whole list of entries it must produce. */
const MATRIX: Array<[string, string, ErrorEntry[]]> = [
  ['body is an array', '[]', [invalidBody]],
  ['body is null', 'null', [invalidBody]],
  ['body is a string', '"users"', [invalidBody]],
  ['body is a number', '42', [invalidBody]],
  ['body is a boolean', 'true', [invalidBody]],
  ['no users', '{}', [missingUsers]],
  ['users under another name', '{"Users":[{"user_id":"u1"}]}', [missingUsers]],
  ['users is an object', '{"users":{"user_id":"u1"}}', [invalidUsers]],
  ['users is a string', '{"users":"u1"}', [invalidUsers]],
  ['users is null', '{"users":null}', [invalidUsers]],
  ['users is empty', '{"users":[]}', [emptyUsers]],
  ['rows that are not objects', '{"users":[1,"u1",null,[],true]}', [0, 1, 2, 3, 4].map(invalidUser)],
  ['no user_id', '{"users":[{"company_id":"c1"}]}', [missingUserId(0)]],
  ['empty user_id', '{"users":[{"user_id":""}]}', [emptyUserId(0)]],
  ['a numeric user_id is not coerced', '{"users":[{"user_id":123}]}', [invalidUserId(0)]],
  ['user_id of other types', '{"users":[{"user_id":1.5},{"user_id":true},{"user_id":null},{"user_id":{}},{"user_id":["u1"]}]}', [0, 1, 2, 3, 4].map(invalidUserId)],
  ['company_id not a string', '{"users":[{"user_id":"a","company_id":42},{"user_id":"b","company_id":null},{"user_id":"c","company_id":{}}]}', [0, 1, 2].map(invalidCompanyId)],
  ['metadata not an object', '{"users":[{"user_id":"a","metadata":[]},{"user_id":"b","metadata":"x"},{"user_id":"c","metadata":1},{"user_id":"d","metadata":null}]}', [0, 1, 2, 3].map(invalidMetadata)],
  ['metadata values: arrays and objects', '{"users":[{"user_id":"a","metadata":{"ok":1,"list":[1,2],"nested":{"x":1},"empty":[]}}]}', [invalidValue(0, 'list'), invalidValue(0, 'nested'), invalidValue(0, 'empty')]],
  ['metadata keys: empty and 256 characters', `{"users":[{"user_id":"a","metadata":{"":1,"${'k'.repeat(256)}":2}}]}`, [
    invalidKey(0, '""', '/users/0/metadata/'),
    invalidKey(0, `"${'k'.repeat(32)}…"`, `/users/0/metadata/${'k'.repeat(64)}…`)
  ]],
  ['several problems in one row, in field order', '{"users":[{"metadata":{"a":[]},"company_id":2,"user_id":1}]}', [invalidUserId(0), invalidCompanyId(0), invalidValue(0, 'a')]],
  ['one entry per problem, across rows', '{"users":[{"user_id":"ok"},{},{"user_id":""},7,{"user_id":"x","metadata":{"v":{}}}]}', [missingUserId(1), emptyUserId(2), invalidUser(3), invalidValue(4, 'v')]]
]

t.test('the validation matrix (MOCK_METADATA=primitives)', async (t) => {
  const { app } = await testApp(t)
  for (const [name, payload, errors] of MATRIX) {
    t.test(name, async (t) => {
      expectErrors(t, await bulkUsers(app, payload), 400, errors)
    })
  }
  t.test('no job was created', async (t) => {
    expectJobList(t, await listJobs(app), [])
  })
})

t.test('accepted values and keys (MOCK_METADATA=primitives)', async (t) => {
  const { app } = await testApp(t)
  const payload = JSON.stringify({
    users: [
      { user_id: 'u1', company_id: '', metadata: { s: 'x', empty: '', n: 0, neg: -1.5, big: 1e21, yes: true, no: false, gone: null } },
      { user_id: ' ', metadata: {} },
      { user_id: 'u3', metadata: { ['k'.repeat(255)]: 1, ['\n'.repeat(255)]: 'line breaks count as characters', 'ключ 🔑': 'unicode' } },
      { user_id: 'u4', unknown_field: [1, 2], company_id: 'c4' }
    ],
    extra: true
  })
  expectAccepted(t, await bulkUsers(app, payload), { totalRows: 4, fileSize: Buffer.byteLength(payload) })
})

t.test('a 256-character key of line breaks is too long too; its path is cut', async (t) => {
  const { app } = await testApp(t)
  const key = '\n'.repeat(256)
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'u1', metadata: { [key]: 1 } }] }), 400, [
    invalidKey(0, `"${'\\n'.repeat(32)}…"`, `/users/0/metadata/${'\\u000a'.repeat(64)}…`)
  ])
})

t.test('long keys are cut in messages, and 64-character keys are shown whole', async (t) => {
  const { app } = await testApp(t)
  const k64 = 'a'.repeat(64)
  const k65 = 'b'.repeat(65)
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'u1', metadata: { [k64]: [], [k65]: {} } }] }), 400, [
    invalid('invalid_metadata_value', `users[0].metadata["${'a'.repeat(32)}…"] is not accepted. Expected: ${PRIMITIVES}`, `/users/0/metadata/${k64}`),
    invalid('invalid_metadata_value', `users[0].metadata["${'b'.repeat(32)}…"] is not accepted. Expected: ${PRIMITIVES}`, `/users/0/metadata/${'b'.repeat(64)}…`)
  ])
})

t.test(`metadata of more than ${MAX_METADATA_KEYS} properties is refused; exactly ${MAX_METADATA_KEYS} is accepted`, async (t) => {
  const { app } = await testApp(t)
  const metadata = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]))
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'u1' }, { user_id: 'u2', metadata: metadata(MAX_METADATA_KEYS + 1) }] }), 400, [
    invalid('too_many_metadata_keys', `users[1].metadata has more than ${MAX_METADATA_KEYS} properties: send the rest in another request.`, '/users/1/metadata')
  ])
  t.equal((await bulkUsers(app, { users: [{ user_id: 'u1', metadata: metadata(MAX_METADATA_KEYS) }] })).statusCode, 202)
})

t.test('at most 100 entries', async (t) => {
  const { app } = await testApp(t)
  const res = await bulkUsers(app, { users: users(150, (i) => ({ user_id: i })) })
  expectErrors(t, res, 400, Array.from({ length: 100 }, (_, row) => invalidUserId(row)))
  const mixed = await bulkUsers(app, { users: users(60, () => ({ user_id: 1, company_id: 2 })) })
  expectErrors(t, mixed, 400, Array.from({ length: 50 }, (_, row) => [invalidUserId(row), invalidCompanyId(row)]).flat())
})

t.test('MOCK_METADATA=strings: only strings and null', async (t) => {
  const { app } = await testApp(t, { MOCK_METADATA: 'strings' })
  const payload = JSON.stringify({ users: [{ user_id: 'u1', metadata: { a: 'x', b: null, c: '' } }] })
  expectAccepted(t, await bulkUsers(app, payload), { totalRows: 1, fileSize: Buffer.byteLength(payload) })
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 'u1', metadata: { n: 1, yes: true, s: 'ok', list: ['x'], obj: { a: 'b' } } }] }), 400,
    ['n', 'yes', 'list', 'obj'].map((key) => invalidValue(0, key, STRINGS)))
  expectErrors(t, await bulkUsers(app, { users: [{ user_id: 2 }] }), 400, [invalidUserId(0)])
})

t.test('malformed and empty bodies', async (t) => {
  const { app } = await testApp(t)
  for (const payload of ['{bad', '{"users":[{"user_id":"u1"}]', '   ', '{"users":[]}x', "{'users':[]}", '\uFEFF{"users":[]}']) {
    let message = ''
    try {
      JSON.parse(payload)
    } catch (error) {
      message = (error as Error).message
    }
    t.ok(message !== '' && message.length <= 120, `precondition: ${JSON.stringify(payload)} fails to parse with a short message`)
    expectErrors(t, await bulkUsers(app, payload), 400, [invalid('malformed_json', 'The request body is not valid JSON.', JSON.stringify(message))])
  }
  expectErrors(t, await bulkUsers(app, ''), 400, [invalid('empty_body', 'The request body is empty: send a JSON object such as {"users": [...]}.', 'body')])
  expectJobList(t, await listJobs(app), [])
})

t.test('bodies of routes other than the bulk ones get generic entries, and are never altered (no defaults)', async (t) => {
  const { app } = await testApp(t)
  app.post('/items', { schema: { body: Type.Object({ items: Type.Array(Type.Object({ item_id: Type.String() }), { minItems: 1 }), mode: Type.Optional(Type.String({ default: 'fast' })) }, { additionalProperties: false }) } }, async (request) => ({ body: request.body, prototype: Object.getPrototypeOf(request.body) === Object.prototype }))
  const post = (payload: string) => app.inject({ method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, payload })
  expectErrors(t, await post('{"items":[{"item_id":1}, 2]}'), 400, [
    invalid('invalid_body', 'Body field /items/0/item_id: Expected string.', 'body/items/0/item_id'),
    invalid('invalid_body', 'Body field /items/1: Expected object.', 'body/items/1')
  ])
  expectErrors(t, await post('[]'), 400, [invalid('invalid_body', 'The body: Expected object.', 'body')])
  const ok = await post('{"items":[{"item_id":"a"}]}')
  t.same(ok.json(), { body: { items: [{ item_id: 'a' }] }, prototype: true }, 'the default is left to the handler')
  // A default-filling copy would turn this own key into the body's prototype and let it through.
  expectErrors(t, await post('{"items":[{"item_id":"a"}],"__proto__":{"mode":"slow"}}'), 400, [
    invalid('invalid_body', 'Body field /__proto__: Unexpected property.', 'body/__proto__')
  ])
})

t.test('details is a JSON Pointer, also for keys holding "/" or "~"', async (t) => {
  const { app } = await testApp(t)
  const res = await bulkUsers(app, { users: [{ user_id: 'u1', metadata: { 'a/b': [], 'c~d': {} } }] })
  expectErrors(t, res, 400, [
    invalidValue(0, 'a/b', PRIMITIVES, '/users/0/metadata/a~1b'),
    invalidValue(0, 'c~d', PRIMITIVES, '/users/0/metadata/c~0d')
  ])
})
