import { randomUUID } from 'node:crypto'
import type { MockServer } from './mock.js'

/**
 * The calls of a mock that take an API key first (some of them optional:
 * without one they span every key). Whatever starts or reaches a mock
 * (`startMock`, `connectMock`, `startMockProcess`) offers these.
 */
export type MockAccessors = Omit<MockServer, 'url' | 'port' | 'app' | 'close' | 'isolate'>

/** One accessor with its key bound: the same call without the key. */
type Bound<F> = F extends (key: string, ...rest: infer Rest) => infer Out ? (...rest: Rest) => Out : never

/** How `isolate()` picks the key. */
export interface IsolateOptions {
  /** Start of the random key (default `test`), to tell keys apart in the journal or the inspector page. */
  prefix?: string
  /** Use this key instead of a random one (when the mock accepts only the keys in MOCK_API_KEYS). */
  key?: string
}

/**
 * A view of a mock for one test (or test file): its own API key, and every
 * call that takes a key bound to it, so nothing it reads, resets, advances or
 * flushes belongs to another test.
 */
export type IsolatedMock = { [Name in keyof MockAccessors]: Bound<MockAccessors[Name]> } & {
  /** The API key of this view: give it to the client under test. */
  readonly key: string
  /** `{ authorization: 'Token <key>' }`, the header the client under test sends. */
  readonly headers: { readonly authorization: string }
  /** The mock's base URL. */
  readonly url: string
}

/**
 * Every accessor, by name: a record of MockAccessors' keys, so an accessor
 * added to MockServer and not here (or gone from it) fails the type check.
 */
const ACCESSORS: Record<keyof MockAccessors, true> = {
  reset: true,
  users: true,
  user: true,
  companies: true,
  jobs: true,
  job: true,
  requests: true,
  events: true,
  deletions: true,
  advance: true,
  fail: true,
  flush: true,
  addFault: true,
  clearFaults: true,
  exports: true,
  advanceExport: true,
  failExport: true,
  setLookup: true
}

/** A key nobody else has: the prefix and a random UUID (122 random bits). */
export function freshKey (prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`
}

/**
 * Binds every accessor of `mock` to one key: a fresh random one unless given.
 * A random key is refused when the mock is known to accept only the keys in
 * MOCK_API_KEYS (every call with it would be answered 401).
 */
export function isolateMock (mock: MockAccessors & { url: string }, options: IsolateOptions = {}, acceptsAnyKey = true): IsolatedMock {
  if (options.key === undefined && !acceptsAnyKey) {
    throw new Error('isolate() makes up a random API key, but this mock accepts only the keys in MOCK_API_KEYS: pass one of them, isolate({ key })')
  }
  const key = options.key ?? freshKey(options.prefix)
  const view: Record<string, unknown> = { key, headers: Object.freeze({ authorization: `Token ${key}` }), url: mock.url }
  for (const name of Object.keys(ACCESSORS) as Array<keyof MockAccessors>) {
    view[name] = async (...rest: unknown[]) => await (mock[name] as (key: string, ...rest: unknown[]) => Promise<unknown>)(key, ...rest)
  }
  return Object.freeze(view) as IsolatedMock
}
