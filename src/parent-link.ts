import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** Set in the bin's environment by startMockProcess: report the port and follow the parent over IPC. */
export const PARENT_LINK_ENV = 'USERPILOT_MOCK_PARENT_LINK'

/** The message the bin sends its parent once it listens. */
export interface ListeningMessage {
  type: 'userpilot-mock:listening'
  port: number
}

/** The part of `process` the link uses (a test hands in its own). */
export interface ParentChannel {
  readonly pid: number
  readonly connected: boolean
  send?: (message: ListeningMessage, callback: (error: Error | null) => void) => boolean
  once: (event: 'disconnect', listener: () => void) => unknown
  kill: (pid: number, signal: NodeJS.Signals) => unknown
}

/**
 * When startMockProcess started this bin (PARENT_LINK_ENV set, an IPC
 * channel open): tell the parent the port it listens on, and stop as on
 * SIGTERM once the channel closes. The operating system closes it when the
 * parent exits, however it dies (SIGKILL included), so a mock never outlives
 * the test process that started it.
 */
export function linkToParent (app: FastifyInstance, env: Readonly<Record<string, string | undefined>>, proc: ParentChannel = process): void {
  if (env[PARENT_LINK_ENV] !== '1' || proc.send === undefined) return
  const stop = (): void => { proc.kill(proc.pid, 'SIGTERM') }
  // Gone while this process started: nobody is left to stop it.
  if (!proc.connected) return stop()
  proc.once('disconnect', stop)
  const { port } = app.server.address() as AddressInfo
  proc.send({ type: 'userpilot-mock:listening', port }, (error) => { if (error instanceof Error) stop() })
}
