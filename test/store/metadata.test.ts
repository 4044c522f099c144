import t, { type Test } from 'tap'
import { copyMetadata, emptyMetadata, mergeMetadata } from '../../src/store/metadata.js'
import type { Metadata, MetadataValue } from '../../schemas/bulk.js'

/** Object.prototype must come out of every test as it went in. */
function assertPrototypeClean (t: Test, label: string): void {
  const probe = {} as Record<string, unknown>
  t.equal(probe.polluted, undefined, `${label}: ({}).polluted`)
  t.equal(Object.hasOwn(Object.prototype, 'polluted'), false, `${label}: no own polluted on Object.prototype`)
  t.equal(probe.constructor, Object, `${label}: ({}).constructor is Object`)
  t.equal(Object.getPrototypeOf(probe), Object.prototype, `${label}: prototype of {}`)
}

t.test('emptyMetadata has no keys and no prototype', async (t) => {
  const metadata = emptyMetadata()
  t.equal(Object.getPrototypeOf(metadata), null)
  t.same(Object.keys(metadata), [])
  t.equal(metadata.toString, undefined, 'nothing inherited')
  t.not(emptyMetadata(), metadata, 'a new object each time')
})

t.test('mergeMetadata', async (t) => {
  t.test('adds and overwrites in place', async (t) => {
    const target = emptyMetadata()
    target.a = 1
    target.b = 'old'
    t.equal(mergeMetadata(target, { b: 'new', c: true, d: 0, e: '' }), 5, 'merges in place; a new key: the size it holds now')
    t.same({ ...target }, { a: 1, b: 'new', c: true, d: 0, e: '' })
    t.equal(mergeMetadata(target, { a: 2, b: 'new', c: null }), -1, 'no new key: -1 (it holds no more than before)')
    t.same({ ...target }, { a: 2, b: 'new', d: 0, e: '' })
  })

  t.test('null removes a property; removing an absent one is harmless', async (t) => {
    const target = emptyMetadata()
    target.keep = 'yes'
    target.drop = 'soon'
    mergeMetadata(target, { drop: null, never_there: null })
    t.same(Object.keys(target), ['keep'])
    t.notOk('never_there' in target, 'null does not store a null')
  })

  t.test('false, 0 and empty string are values, not removals', async (t) => {
    const target = emptyMetadata()
    mergeMetadata(target, { f: false, z: 0, s: '' })
    t.same({ ...target }, { f: false, z: 0, s: '' })
  })

  t.test('leaves the patch alone', async (t) => {
    const patch: Record<string, MetadataValue> = { a: 1, b: null }
    mergeMetadata(emptyMetadata(), patch)
    t.same(patch, { a: 1, b: null })
  })

  t.test('__proto__, constructor and prototype are ordinary own keys', async (t) => {
    const patch = JSON.parse('{"__proto__":"p","constructor":"c","prototype":"x","polluted":"no"}') as Record<string, MetadataValue>
    t.ok(Object.hasOwn(patch, '__proto__'), 'JSON.parse makes __proto__ an own key of the patch')
    const target = emptyMetadata()
    mergeMetadata(target, patch)
    t.same(Object.keys(target).sort(), ['__proto__', 'constructor', 'polluted', 'prototype'])
    t.equal(Object.getOwnPropertyDescriptor(target, '__proto__')?.value, 'p')
    t.equal(target.constructor, 'c')
    t.equal(target.prototype, 'x')
    t.equal(Object.getPrototypeOf(target), null, 'the target keeps no prototype')
    assertPrototypeClean(t, 'after merge')
  })

  t.test('an object value under __proto__ cannot become a prototype', async (t) => {
    // Not a valid metadata value, but the store must not be a pollution gadget whatever it is given.
    const patch = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}') as Record<string, MetadataValue>
    const target = emptyMetadata()
    mergeMetadata(target, patch)
    t.equal(Object.getPrototypeOf(target), null)
    t.equal((target as Record<string, unknown>).polluted, undefined)
    t.ok(Object.hasOwn(target, '__proto__'))
    assertPrototypeClean(t, 'after merging objects')
  })

  t.test('null removes a __proto__ key like any other', async (t) => {
    const target = emptyMetadata()
    mergeMetadata(target, JSON.parse('{"__proto__":"p","constructor":"c"}') as Record<string, MetadataValue>)
    mergeMetadata(target, JSON.parse('{"__proto__":null}') as Record<string, MetadataValue>)
    t.same(Object.keys(target), ['constructor'])
    t.equal(Object.getPrototypeOf(target), null)
    assertPrototypeClean(t, 'after removal')
  })
})

t.test('copyMetadata makes a detached copy without a prototype', async (t) => {
  const source = emptyMetadata()
  mergeMetadata(source, JSON.parse('{"a":1,"__proto__":"p","b":"two"}') as Metadata)
  const copy = copyMetadata(source)
  t.not(copy, source)
  t.equal(Object.getPrototypeOf(copy), null)
  t.same(Object.keys(copy).sort(), ['__proto__', 'a', 'b'])
  t.equal(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value, 'p')
  copy.a = 'changed'
  delete copy.b
  t.equal(source.a, 1, 'changing the copy leaves the source')
  t.equal(source.b, 'two')
  source.c = true
  t.notOk('c' in copy, 'changing the source leaves the copy')
  t.same(Object.keys(copyMetadata(emptyMetadata())), [])
  assertPrototypeClean(t, 'after copy')
})

t.test('copyMetadata accepts a plain object too', async (t) => {
  const copy = copyMetadata({ a: 'x', b: 2 })
  t.equal(Object.getPrototypeOf(copy), null)
  t.same({ ...copy }, { a: 'x', b: 2 })
})
