module.exports = {
  // Both run once, in Jest's main process; the test files run in workers.
  globalSetup: './global-setup.js',
  globalTeardown: './global-teardown.js'
}
