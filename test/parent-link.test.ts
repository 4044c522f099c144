import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { linkToParent, PARENT_LINK_ENV, type ListeningMessage, type ParentChannel } from '../src/parent-link.js'

const app = { server: { address: () => ({ address: '127.0.0.1', family: 'IPv4', port: 43123 }) } } as unknown as FastifyInstance
const LINKED = { [PARENT_LINK_ENV]: '1' }

/** A stand-in for `process`: what was sent, which signals were sent to whom, the disconnect listener. */
function fakeProcess (options: { connected?: boolean, ipc?: boolean, sendError?: Error } = {}): ParentChannel & { sent: ListeningMessage[], kills: Array<[number, string]>, disconnect?: () => void } {
  const proc: ParentChannel & { sent: ListeningMessage[], kills: Array<[number, string]>, disconnect?: () => void } = {
    pid: 4321,
    connected: options.connected ?? true,
    sent: [],
    kills: [],
    once: (_event, listener) => { proc.disconnect = listener },
    kill: (pid, signal) => { proc.kills.push([pid, signal]) }
  }
  if (options.ipc !== false) {
    proc.send = (message, callback) => {
      proc.sent.push(message)
      callback(options.sendError ?? null)
      return true
    }
  }
  return proc
}

t.test('started by startMockProcess: reports the port, and SIGTERMs itself when the channel closes', async (t) => {
  const proc = fakeProcess()
  linkToParent(app, LINKED, proc)
  t.same(proc.sent, [{ type: 'userpilot-mock:listening', port: 43123 }])
  t.same(proc.kills, [], 'nothing yet')
  proc.disconnect?.()
  t.same(proc.kills, [[4321, 'SIGTERM']], 'the parent is gone: stop as on SIGTERM (graceful, exit 0)')
})

t.test('the parent went away while the mock started: it stops at once', async (t) => {
  const proc = fakeProcess({ connected: false })
  linkToParent(app, LINKED, proc)
  t.same(proc.sent, [])
  t.equal(proc.disconnect, undefined)
  t.same(proc.kills, [[4321, 'SIGTERM']])
})

t.test('the report cannot be sent: it stops', async (t) => {
  const proc = fakeProcess({ sendError: new Error('channel closed') })
  linkToParent(app, LINKED, proc)
  t.same(proc.kills, [[4321, 'SIGTERM']])
})

t.test('not started by startMockProcess (no marker, or no IPC channel): nothing happens', async (t) => {
  for (const [env, proc] of [[{}, fakeProcess()], [{ [PARENT_LINK_ENV]: '0' }, fakeProcess()], [LINKED, fakeProcess({ ipc: false })]] as const) {
    linkToParent(app, env, proc)
    t.same([proc.sent, proc.kills, proc.disconnect], [[], [], undefined])
  }
})
