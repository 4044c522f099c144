import t from 'tap'
import { createHash } from 'node:crypto'
import { authenticate, KeyRing, parseKeyList, tenantOf } from '../src/tenant.js'

function sha256Hex (text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

t.test('tenantOf', async (t) => {
  t.test('the id is the SHA-256 of the key, in hex, and never the key', async (t) => {
    const key = 'up_live_key_123'
    const tenant = tenantOf(key)
    t.equal(tenant.id, sha256Hex(key))
    t.match(tenant.id, /^[0-9a-f]{64}$/)
    t.notOk(tenant.id.includes(key))
    t.notOk(tenant.envId.includes(key))
  })

  t.test('a known SHA-256 vector', async (t) => {
    // FIPS 180-2 test vector: SHA-256("abc").
    t.same(tenantOf('abc'), {
      id: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      envId: 'NX-ba7816bf'
    })
  })

  t.test('envId is NX- and the first 8 hex digits of the id', async (t) => {
    const tenant = tenantOf('some key')
    t.match(tenant.envId, /^NX-[0-9a-f]{8}$/)
    t.equal(tenant.envId, `NX-${tenant.id.slice(0, 8)}`)
  })

  t.test('stable for a key, different for different keys', async (t) => {
    t.same(tenantOf('k1'), tenantOf('k1'))
    const a = tenantOf('k1')
    const b = tenantOf('k2')
    t.not(a.id, b.id)
    t.not(a.envId, b.envId)
    t.not(tenantOf('K1').id, a.id, 'keys are case-sensitive')
  })

  t.test('cached per key, and still right after the cache was cleared by 1,000 other keys', async (t) => {
    const first = tenantOf('cached key')
    t.equal(tenantOf('cached key'), first, 'the same frozen object while cached')
    t.ok(Object.isFrozen(first), 'callers cannot change a cached tenant')
    const wrong = Array.from({ length: 1001 }, (_, i) => `key ${i}`).filter((key) => tenantOf(key).id !== sha256Hex(key))
    t.same(wrong, [])
    const again = tenantOf('cached key')
    t.not(again, first, 'computed anew after the clear')
    t.same(again, first)
  })
})

t.test('parseKeyList splits on commas, trims, and drops blanks', async (t) => {
  t.same(parseKeyList('a,b'), ['a', 'b'])
  t.same(parseKeyList(' a , , b ,'), ['a', 'b'])
  t.same(parseKeyList('only'), ['only'])
  t.same(parseKeyList(''), [])
  t.same(parseKeyList(' ,, ,'), [])
  t.same(parseKeyList('key with space, x'), ['key with space', 'x'], 'inner spaces are part of a key')
})

t.test('KeyRing', async (t) => {
  t.test('with no keys it is open and accepts anything', async (t) => {
    const ring = new KeyRing([])
    t.equal(ring.open, true)
    t.equal(ring.accepts('anything'), true)
    t.equal(ring.accepts('x'.repeat(1000)), true)
  })

  t.test('with keys it is closed and accepts only those keys', async (t) => {
    const ring = new KeyRing(['k1', 'a-much-longer-second-key'])
    t.equal(ring.open, false)
    t.equal(ring.accepts('k1'), true)
    t.equal(ring.accepts('a-much-longer-second-key'), true, 'the last key matches too')
    t.equal(ring.accepts('k2'), false)
    t.equal(ring.accepts('K1'), false, 'case-sensitive')
    t.equal(ring.accepts('k1 '), false, 'exact match')
    t.equal(ring.accepts(''), false)
    t.equal(ring.accepts('a-much-longer-second-key-and-more'), false)
  })
})

t.test('authenticate', async (t) => {
  const open = new KeyRing([])
  const closed = new KeyRing(['k1', 'k2'])

  t.test('missing or blank header', async (t) => {
    t.same(authenticate(undefined, open), { failure: 'missing_authorization' })
    t.same(authenticate('', open), { failure: 'missing_authorization' })
    t.same(authenticate('   ', open), { failure: 'missing_authorization' })
    t.same(authenticate('\t ', closed), { failure: 'missing_authorization' })
  })

  t.test('another scheme', async (t) => {
    t.same(authenticate('Bearer k1', closed), { failure: 'invalid_auth_scheme' })
    t.same(authenticate('Basic azE6', open), { failure: 'invalid_auth_scheme' })
    t.same(authenticate('k1', closed), { failure: 'invalid_auth_scheme' }, 'a bare key is not a scheme')
    t.same(authenticate('Tokenk1', open), { failure: 'invalid_auth_scheme' }, 'the scheme needs a space after it')
    t.same(authenticate('Bearer unknown', closed), { failure: 'invalid_auth_scheme' }, 'the scheme is checked before the key')
  })

  t.test('the scheme word is case-insensitive', async (t) => {
    for (const scheme of ['Token', 'token', 'TOKEN', 'tOkEn']) {
      t.same(authenticate(`${scheme} k1`, closed), { tenant: tenantOf('k1') }, scheme)
    }
  })

  t.test('an empty key after Token', async (t) => {
    t.same(authenticate('Token', open), { failure: 'missing_api_key' })
    t.same(authenticate('Token   ', open), { failure: 'missing_api_key' })
    t.same(authenticate('token \t ', closed), { failure: 'missing_api_key' })
  })

  t.test('an unknown key when keys are configured', async (t) => {
    t.same(authenticate('Token k3', closed), { failure: 'invalid_api_key' })
    t.same(authenticate('Token K1', closed), { failure: 'invalid_api_key' })
    t.same(authenticate('Token k2', closed), { tenant: tenantOf('k2') })
  })

  t.test('any non-empty key when none are configured', async (t) => {
    t.same(authenticate('Token whatever-key', open), { tenant: tenantOf('whatever-key') })
  })

  t.test('extra whitespace around the scheme and the key', async (t) => {
    t.same(authenticate('   Token    k1   ', closed), { tenant: tenantOf('k1') })
    t.same(authenticate('Token\tk1', closed), { tenant: tenantOf('k1') })
    t.same(authenticate('Token a b', open), { tenant: tenantOf('a b') }, 'inner spaces belong to the key')
  })

  t.test('a line terminator inside the key gives a failure, not a TypeError', async (t) => {
    // Labels, not the headers: a raw U+2028 in an assertion message would break the TAP stream.
    for (const [label, header] of [['LF', 'Token a\nb'], ['CR', 'Token a\rb'], ['U+2028', 'Token a\u2028b']] as const) {
      t.same(authenticate(header, closed), { failure: 'invalid_api_key' }, label)
    }
  })
})
