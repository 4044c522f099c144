import t from 'tap'
import { countBy, lingerAfterLastAnswer, shutdownFailures, shutdownSummary, type ShutdownObservation } from '../../scripts/lib/shutdown.js'

const graceful: ShutdownObservation = {
  inFlight: [{ kind: 'delayed', ms: 900, status: 200 }, { kind: 'delayed', ms: 1000, status: 200 }, { kind: 'bulk', ms: 1200, status: 202 }],
  newConnection: { error: 'ECONNREFUSED' },
  exit: { code: 0, signal: null, ms: 1620 },
  deadlineMs: 10_000,
  lingerMs: 2000
}

t.test('a graceful shutdown passes, with one summary line', async (t) => {
  t.same(shutdownFailures(graceful), [])
  t.equal(shutdownSummary(graceful), 'shutdown-check: 3/3 in-flight answered (delayed 200: 2, bulk 202: 1), 0 unanswered (reset or hang-up), new connection ECONNREFUSED, exit 0 in 1.62 s (0.42 s after the last answer)')
  t.same(shutdownFailures({ ...graceful, newConnection: { status: 503 } }), [], 'a 503 to a new connection is accepted too')
})

t.test('lingerAfterLastAnswer: from the last answer, or from SIGTERM with none', async (t) => {
  t.equal(lingerAfterLastAnswer(graceful), 420)
  t.equal(lingerAfterLastAnswer({ inFlight: [], exit: graceful.exit }), 1620)
})

t.test('every way to fail is named', async (t) => {
  const broken: ShutdownObservation = {
    inFlight: [{ kind: 'delayed', ms: 10, error: 'ECONNRESET' }, { kind: 'delayed', ms: 10, error: 'ECONNRESET' }, { kind: 'bulk', ms: 1400, status: 500 }, { kind: 'bulk', ms: 20 }],
    newConnection: { status: 200 },
    exit: { code: 1, signal: null, ms: 10_400 },
    deadlineMs: 10_000,
    lingerMs: 2000
  }
  t.same(shutdownFailures(broken), [
    '3 in-flight requests got no answer (ECONNRESET: 2, unknown: 1)',
    '1 in-flight requests were answered 5xx (500: 1)',
    'a new connection after SIGTERM was answered 200, expected ECONNREFUSED (or a 503)',
    'the server exited with code 1, expected 0',
    'the server took 10.40 s to exit, limit 10 s',
    'the server exited 9.00 s after the last in-flight answer, limit 2 s (answered keep-alive connections held open?)'
  ])
  t.equal(shutdownSummary(broken), 'shutdown-check: 1/4 in-flight answered (bulk 500: 1), 3 unanswered (reset or hang-up), new connection answered 200, exit 1 in 10.40 s (9.00 s after the last answer)')
})

t.test('a killed server and a failed new connection', async (t) => {
  const killed = { ...graceful, inFlight: [], newConnection: { error: 'ECONNRESET' }, exit: { code: null, signal: 'SIGKILL', ms: 12_000 }, lingerMs: 60_000 }
  t.same(shutdownFailures(killed), [
    'a new connection after SIGTERM was not refused but failed with ECONNRESET, expected ECONNREFUSED (or a 503)',
    'the server exited with signal SIGKILL, expected 0',
    'the server took 12.00 s to exit, limit 10 s'
  ])
  t.equal(shutdownSummary(killed), 'shutdown-check: 0/0 in-flight answered (none), 0 unanswered (reset or hang-up), new connection ECONNRESET, signal SIGKILL in 12.00 s (12.00 s after the last answer)')
  t.match(shutdownFailures({ ...killed, newConnection: {}, exit: { code: null, signal: null, ms: 1 } }), [
    'a new connection after SIGTERM was not refused but failed with nothing, expected ECONNREFUSED (or a 503)',
    'the server exited with signal ?, expected 0'
  ])
  t.equal(shutdownSummary({ ...killed, exit: { code: null, signal: null, ms: 1 } }), 'shutdown-check: 0/0 in-flight answered (none), 0 unanswered (reset or hang-up), new connection ECONNRESET, signal ? in 0.00 s (0.00 s after the last answer)')
})

t.test('countBy keeps first-seen order', async (t) => {
  t.equal(countBy(['b', 'a', 'b']), 'b: 2, a: 1')
  t.equal(countBy([]), '')
})
