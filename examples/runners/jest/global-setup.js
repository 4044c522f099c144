// One mock for the whole run, in Jest's main process. The workers that run the
// test files start after this and inherit its environment: the URL goes there.
const { startMock } = require('userpilot-mock')

module.exports = async function globalSetup () {
  const mock = await startMock({ config: { MOCK_CLOCK: 'manual' } })
  // globalTeardown runs in this same process and closes it.
  globalThis.userpilotMock = mock
  process.env.USERPILOT_MOCK_URL = mock.url
}
