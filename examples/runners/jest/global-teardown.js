module.exports = async function globalTeardown () {
  await globalThis.userpilotMock.close()
}
