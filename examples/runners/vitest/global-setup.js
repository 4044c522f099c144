// One mock for the whole run, in Vitest's main process. The test files run in
// workers: they get the mock's URL through provide/inject and reach it over HTTP.
import { startMock } from 'userpilot-mock'

let mock

export async function setup ({ provide }) {
  mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  provide('userpilotMockUrl', mock.url)
}

export async function teardown () {
  await mock.close()
}
