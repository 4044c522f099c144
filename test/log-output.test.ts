import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { bufferedDestination, bufferedStdout, LOG_BUFFER_BYTES, LOG_FLUSH_MS, type Every } from '../src/log-output.js'

/** A timer source that only records what it was asked for; the test fires it. */
function manualEvery (): { every: Every, fire: () => void, ms: number[], unrefs: number } {
  const timers: Array<() => void> = []
  const state = {
    ms: [] as number[],
    unrefs: 0,
    every: ((callback: () => void, ms: number) => {
      timers.push(callback)
      state.ms.push(ms)
      return { unref: () => { state.unrefs++ } }
    }) as Every,
    fire: () => { for (const timer of timers) timer() }
  }
  return state
}

t.test('lines wait in the buffer until the timer fires, then are written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-output-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'out.log')
  const timer = manualEvery()
  const { stream } = bufferedDestination(file, timer.every)
  await once(stream as never, 'ready')
  t.same(timer.ms, [LOG_FLUSH_MS], 'one timer, every LOG_FLUSH_MS')
  t.equal(timer.unrefs, 1, 'the timer never holds the process open')
  stream.write('{"msg":"one"}\n')
  t.equal(readFileSync(file, 'utf8'), '', 'a short line is buffered')
  const written = once(stream as never, 'write')
  timer.fire()
  await written
  t.equal(readFileSync(file, 'utf8'), '{"msg":"one"}\n', 'the timer wrote it')
})

t.test('a full buffer is written without waiting for the timer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-output-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'out.log')
  const { stream } = bufferedDestination(file, manualEvery().every)
  await once(stream as never, 'ready')
  const line = `${JSON.stringify({ msg: 'x'.repeat(100) })}\n`
  const written = once(stream as never, 'write')
  for (let bytes = 0; bytes <= LOG_BUFFER_BYTES; bytes += line.length) stream.write(line)
  await written
  t.ok(readFileSync(file, 'utf8').length >= LOG_BUFFER_BYTES, 'written at LOG_BUFFER_BYTES')
})

t.test('the timer does nothing once the stream has ended', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'log-output-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const timer = manualEvery()
  const { stream, flush } = bufferedDestination(join(dir, 'out.log'), timer.every)
  await once(stream as never, 'ready')
  ;(stream as unknown as { destroy: () => void }).destroy()
  t.doesNotThrow(() => timer.fire())
  t.doesNotThrow(flush)
})

t.test('standard output is one buffered destination however many servers start', async (t) => {
  t.equal(bufferedStdout(), bufferedStdout())
})
