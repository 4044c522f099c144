import t from 'tap'
import { Type } from '@sinclair/typebox'
import { CompanyRowSchema, MAX_METADATA_KEYS, UserRowSchema } from '../../schemas/bulk.js'
import { rowChecker } from '../../src/http/validation.js'
import { invalid } from '../helpers/http.js'

const PRIMITIVES = 'A string, number, boolean, or null to remove the property. Arrays and objects are rejected.'
const STRINGS = 'A string, or null to remove the property (MOCK_METADATA=strings).'

t.test('user rows (MOCK_METADATA=primitives)', async (t) => {
  const check = rowChecker(UserRowSchema('primitives'), 'users')

  t.test('good rows have no problems', async (t) => {
    for (const row of [
      { user_id: 'u1' },
      { user_id: ' ', company_id: '', metadata: {} },
      { user_id: 'u1', company_id: 'c1', metadata: { s: 'x', n: -1.5, b: false, gone: null, ['k'.repeat(255)]: 1 } },
      { user_id: 'u1', unknown: [1, 2] }
    ]) {
      t.same(check(row, 1), [], JSON.stringify(row).slice(0, 60))
    }
  })

  t.test('a row that is not an object', async (t) => {
    for (const value of [null, 1, 'u1', [], true]) {
      t.same(check(value, 7), [invalid('invalid_user', 'Line 7 must be an object.', 'line 7')], JSON.stringify(value))
    }
  })

  t.test('user_id: missing, empty, not a string — one entry each, never two for one field', async (t) => {
    t.same(check({}, 2), [invalid('missing_user_id', 'Line 2: user_id is required: each user needs a non-empty string user_id.', 'line 2: /user_id')])
    t.same(check({ user_id: '' }, 3), [invalid('empty_user_id', 'Line 3: user_id is empty: it must be a non-empty string.', 'line 3: /user_id')])
    for (const userId of [123, null, {}, ['u1'], true]) {
      t.same(check({ user_id: userId }, 4), [invalid('invalid_user_id', 'Line 4: user_id must be a string.', 'line 4: /user_id')], JSON.stringify(userId))
    }
  })

  t.test('company_id and metadata', async (t) => {
    t.same(check({ user_id: 'u', company_id: 5 }, 1), [invalid('invalid_company_id', 'Line 1: company_id must be a string.', 'line 1: /company_id')])
    for (const metadata of [[], 'x', 1, null]) {
      t.same(check({ user_id: 'u', metadata }, 1), [invalid('invalid_metadata', 'Line 1: metadata must be an object of properties.', 'line 1: /metadata')], JSON.stringify(metadata))
    }
    t.same(check({ user_id: 'u', metadata: { ok: 1, list: [1], nested: {} } }, 9), [
      invalid('invalid_metadata_value', `Line 9: metadata["list"] is not accepted. Expected: ${PRIMITIVES}`, 'line 9: /metadata/list'),
      invalid('invalid_metadata_value', `Line 9: metadata["nested"] is not accepted. Expected: ${PRIMITIVES}`, 'line 9: /metadata/nested')
    ])
  })

  t.test('metadata keys: empty, too long, and characters escaped in the path', async (t) => {
    const long = 'k'.repeat(256)
    t.same(check({ user_id: 'u', metadata: { '': 1, [long]: 2 } }, 5), [
      invalid('invalid_metadata_key', 'Line 5: metadata has a key that is empty or longer than 255 characters: "".', 'line 5: /metadata/'),
      invalid('invalid_metadata_key', `Line 5: metadata has a key that is empty or longer than 255 characters: "${'k'.repeat(32)}…".`, `line 5: /metadata/${'k'.repeat(64)}…`)
    ])
    t.same(check({ user_id: 'u', metadata: { 'a/b~c': [] } }, 1), [
      invalid('invalid_metadata_value', `Line 1: metadata["a/b~c"] is not accepted. Expected: ${PRIMITIVES}`, 'line 1: /metadata/a~1b~0c')
    ])
  })

  t.test(`metadata of more than ${MAX_METADATA_KEYS} properties`, async (t) => {
    const metadata = Object.fromEntries(Array.from({ length: MAX_METADATA_KEYS + 1 }, (_, i) => [`k${i}`, 'v']))
    t.same(check({ user_id: 'u', metadata }, 3), [
      invalid('too_many_metadata_keys', `Line 3: metadata has more than ${MAX_METADATA_KEYS} properties: send the rest in another request.`, 'line 3: /metadata')
    ])
  })

  t.test('several problems in one row, in field order', async (t) => {
    t.same(check({ metadata: { a: [] }, company_id: 2, user_id: 1 }, 3), [
      invalid('invalid_user_id', 'Line 3: user_id must be a string.', 'line 3: /user_id'),
      invalid('invalid_company_id', 'Line 3: company_id must be a string.', 'line 3: /company_id'),
      invalid('invalid_metadata_value', `Line 3: metadata["a"] is not accepted. Expected: ${PRIMITIVES}`, 'line 3: /metadata/a')
    ])
  })

  t.test('at most 100 entries for one row', async (t) => {
    const metadata = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`k${i}`, [i]]))
    const found = check({ user_id: 'u', metadata }, 1)
    t.equal(found.length, 100)
    t.same(found.at(-1), invalid('invalid_metadata_value', `Line 1: metadata["k99"] is not accepted. Expected: ${PRIMITIVES}`, 'line 1: /metadata/k99'))
  })

  t.test('the line number is the one given', async (t) => {
    t.same(check({ user_id: 1 }, 10_000), [invalid('invalid_user_id', 'Line 10000: user_id must be a string.', 'line 10000: /user_id')])
  })
})

t.test('company rows (MOCK_METADATA=strings)', async (t) => {
  const check = rowChecker(CompanyRowSchema('strings'), 'companies')
  t.same(check({ company_id: 'c1', metadata: { name: 'Acme', gone: null } }, 1), [])
  t.same(check({ company_id: 'c1', user_id: 7 }, 1), [], 'unknown fields are ignored')
  t.same(check([], 1), [invalid('invalid_company', 'Line 1 must be an object.', 'line 1')])
  t.same(check({ user_id: 'u1' }, 2), [invalid('missing_company_id', 'Line 2: company_id is required: each company needs a non-empty string company_id.', 'line 2: /company_id')])
  t.same(check({ company_id: '' }, 3), [invalid('empty_company_id', 'Line 3: company_id is empty: it must be a non-empty string.', 'line 3: /company_id')])
  t.same(check({ company_id: 3 }, 4), [invalid('invalid_company_id', 'Line 4: company_id must be a string.', 'line 4: /company_id')])
  t.same(check({ company_id: 'c', metadata: { seats: 25, paying: true, name: 'ok' } }, 5), [
    invalid('invalid_metadata_value', `Line 5: metadata["seats"] is not accepted. Expected: ${STRINGS}`, 'line 5: /metadata/seats'),
    invalid('invalid_metadata_value', `Line 5: metadata["paying"] is not accepted. Expected: ${STRINGS}`, 'line 5: /metadata/paying')
  ])
})

t.test('any row schema: the collection name is used as is when it has no singular', async (t) => {
  const check = rowChecker(Type.Object({ sku: Type.String({ minLength: 1 }), tags: Type.Optional(Type.Object({})) }), 'widgets')
  t.same(check({ sku: 'a' }, 1), [])
  t.same(check(7, 1), [invalid('invalid_widgets', 'Line 1 must be an object.', 'line 1')])
  t.same(check({}, 2), [invalid('missing_sku', 'Line 2: sku is required: each widgets needs a non-empty string sku.', 'line 2: /sku')])
  t.same(check({ sku: '' }, 3), [invalid('empty_sku', 'Line 3: sku is empty: it must be a non-empty string.', 'line 3: /sku')])
  t.same(check({ sku: 'a', tags: 1 }, 4), [invalid('invalid_tags', 'Line 4: tags must be an object of properties.', 'line 4: /tags')])
})

t.test('a value schema without a description: "a primitive value" is expected', async (t) => {
  const check = rowChecker(Type.Object({ id: Type.String(), attributes: Type.Record(Type.String(), Type.String()) }), 'users')
  t.same(check({ id: 'a', attributes: { ok: 'x', n: 1 } }, 6), [
    invalid('invalid_metadata_value', 'Line 6: attributes["n"] is not accepted. Expected: a primitive value', 'line 6: /attributes/n')
  ])
})
