import { isolateMock, type IsolatedMock, type IsolateOptions, type MockAccessors } from './isolation.js'
import { controlAccessors, type ControlSend } from './control-calls.js'

/** How to reach a mock's control API. */
export interface ConnectMockOptions {
  /** The mock's MOCK_ADMIN_TOKEN, when it runs with one (sent as `X-Mock-Admin`). */
  adminToken?: string
}

/**
 * A mock reached over HTTP: the same typed calls as `startMock()` gives, for a
 * mock started elsewhere (a test runner's global setup, a child process, a container).
 */
export interface MockClient extends MockAccessors {
  /** Base URL of the mock, without a trailing slash. */
  readonly url: string
  /** A view for one test: a fresh random API key with every call bound to it (isolation.ts). */
  isolate(options?: IsolateOptions): IsolatedMock
}

/**
 * The control API of the mock at `url`, over `fetch`. Nothing is sent until
 * a call is made (control-calls.ts has the calls).
 */
export function connectMock (url: string, options: ConnectMockOptions = {}): MockClient {
  const base = url.replace(/\/+$/, '')

  const send: ControlSend = async ({ method, path, headers, payload }) => {
    const res = await fetch(`${base}${path}`, { method, headers: payload === undefined ? headers : { ...headers, 'content-type': 'application/json' }, ...(payload === undefined ? {} : { body: JSON.stringify(payload) }) })
    return { status: res.status, text: await res.text() }
  }
  const client: MockClient = {
    url: base,
    isolate: (isolateOptions) => isolateMock(client, isolateOptions),
    ...controlAccessors(send, options.adminToken)
  }
  return client
}
