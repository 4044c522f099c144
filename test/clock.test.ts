import t from 'tap'
import { ManualClock, SystemClock, type Clock, type TimerHandle } from '../src/clock.js'

/** Resolves after `ms` of real time, outside the clock under test. */
function realDelay (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Awaits a promise that only an unref()ed SystemClock timer settles: such a
 * timer does not keep the event loop alive, so a ref()ed interval does meanwhile.
 */
async function keptAlive<T> (promise: Promise<T>): Promise<T> {
  const keep = setInterval(() => {}, 1_000)
  try {
    return await promise
  } finally {
    clearInterval(keep)
  }
}

const MANUAL_START = Date.parse('2025-05-19T07:29:12.000Z')

t.test('SystemClock', async (t) => {
  t.test('now() is the wall clock', async (t) => {
    const clock: Clock = new SystemClock()
    const before = Date.now()
    const now = clock.now()
    const after = Date.now()
    t.ok(now >= before && now <= after, `${now} within [${before}, ${after}]`)
  })

  t.test('setTimer fires its callback once, after the delay', async (t) => {
    const clock = new SystemClock()
    const start = Date.now()
    let calls = 0
    const firedAt = await keptAlive(new Promise<number>((resolve) => {
      clock.setTimer(() => {
        calls++
        resolve(Date.now())
      }, 3)
      t.equal(clock.pending, 1, 'pending while waiting')
      t.equal(calls, 0, 'not fired synchronously')
    }))
    // Node may fire up to a millisecond early relative to Date.now().
    t.ok(firedAt - start >= 2, `fired after ${firedAt - start} ms`)
    t.equal(calls, 1)
    t.equal(clock.pending, 0, 'a fired timer is no longer pending')
  })

  t.test('handles have distinct ids', async (t) => {
    const clock = new SystemClock()
    const a = clock.setTimer(() => {}, 60_000)
    const b = clock.setTimer(() => {}, 60_000)
    t.not(a.id, b.id)
    t.equal(clock.pending, 2)
    clock.dispose()
  })

  t.test('clearTimer cancels a timer before it fires', async (t) => {
    const clock = new SystemClock()
    let fired = false
    const handle = clock.setTimer(() => { fired = true }, 1)
    const other = clock.setTimer(() => {}, 60_000)
    t.equal(clock.pending, 2)
    clock.clearTimer(handle)
    t.equal(clock.pending, 1, 'only the cleared timer is gone')
    // A later timer of the same clock firing proves the cleared one had its chance.
    await keptAlive(new Promise<void>((resolve) => { clock.setTimer(resolve, 4) }))
    t.equal(fired, false)
    clock.clearTimer(other)
    t.equal(clock.pending, 0)
  })

  t.test('clearTimer of a fired or unknown handle is a no-op', async (t) => {
    const clock = new SystemClock()
    let handle: TimerHandle | undefined
    await keptAlive(new Promise<void>((resolve) => { handle = clock.setTimer(resolve, 1) }))
    const keep = clock.setTimer(() => {}, 60_000)
    clock.clearTimer(handle as TimerHandle)
    clock.clearTimer({ id: 9999 })
    t.equal(clock.pending, 1)
    clock.clearTimer(keep)
  })

  t.test('timers are unref()ed so they never keep the process alive', async (t) => {
    const created: NodeJS.Timeout[] = []
    const original = globalThis.setTimeout
    const spy = (...args: Parameters<typeof setTimeout>): NodeJS.Timeout => {
      const timer = original(...args)
      created.push(timer)
      return timer
    }
    globalThis.setTimeout = spy as unknown as typeof setTimeout
    t.teardown(() => { globalThis.setTimeout = original })
    const clock = new SystemClock()
    clock.setTimer(() => {}, 60_000)
    clock.setTimer(() => {}, 1)
    globalThis.setTimeout = original
    t.equal(created.length, 2, 'the clock uses setTimeout')
    t.same(created.map((timer) => timer.hasRef()), [false, false])
    clock.dispose()
  })

  t.test('dispose clears every pending timer', async (t) => {
    const clock = new SystemClock()
    const fired: number[] = []
    clock.setTimer(() => { fired.push(1) }, 1)
    clock.setTimer(() => { fired.push(2) }, 2)
    clock.setTimer(() => { fired.push(3) }, 60_000)
    t.equal(clock.pending, 3)
    clock.dispose()
    t.equal(clock.pending, 0)
    await realDelay(5)
    t.same(fired, [], 'nothing fired after dispose')
    // The clock still works after dispose.
    await keptAlive(new Promise<void>((resolve) => { clock.setTimer(resolve, 1) }))
    t.equal(clock.pending, 0)
  })

  t.test('pending counts timers not fired yet', async (t) => {
    const clock = new SystemClock()
    t.equal(clock.pending, 0)
    const handles = [1, 2, 3].map(() => clock.setTimer(() => {}, 60_000))
    t.equal(clock.pending, 3)
    clock.clearTimer(handles[1] as TimerHandle)
    t.equal(clock.pending, 2)
    clock.dispose()
    t.equal(clock.pending, 0)
  })

  t.test('yield gives the event loop back, after immediates already queued', async (t) => {
    const clock = new SystemClock()
    const order: string[] = []
    setImmediate(() => order.push('immediate'))
    const yielded = clock.yield().then((value) => {
      order.push('yield')
      return value
    })
    order.push('sync')
    t.equal(await yielded, undefined)
    t.same(order, ['sync', 'immediate', 'yield'])
  })
})

t.test('ManualClock', async (t) => {
  t.test('starts at a fixed instant, or at the given one, and stays there', async (t) => {
    t.equal(new ManualClock().now(), MANUAL_START)
    const clock = new ManualClock(1_000)
    t.equal(clock.now(), 1_000)
    await clock.yield()
    t.equal(clock.now(), 1_000, 'yield is not a passage of time')
  })

  t.test('advance moves time without timers', async (t) => {
    const clock = new ManualClock(0)
    await clock.advance(250)
    t.equal(clock.now(), 250)
    await clock.advance(0)
    t.equal(clock.now(), 250)
  })

  t.test('advance fires due timers in time order, each at its own instant', async (t) => {
    const clock = new ManualClock(0)
    const fired: Array<[string, number]> = []
    const record = (name: string) => () => { fired.push([name, clock.now()]) }
    clock.setTimer(record('c'), 30)
    clock.setTimer(record('a'), 10)
    clock.setTimer(record('b'), 20)
    clock.setTimer(record('late'), 50)
    t.equal(clock.pending, 4)
    await clock.advance(9)
    t.same(fired, [], 'nothing is due yet')
    t.equal(clock.now(), 9)
    await clock.advance(21)
    t.same(fired, [['a', 10], ['b', 20], ['c', 30]])
    t.equal(clock.now(), 30)
    t.equal(clock.pending, 1, 'the later timer waits')
    await clock.advance(100)
    t.same(fired.at(-1), ['late', 50])
    t.equal(clock.now(), 130, 'time ends at the target, not at the last timer')
  })

  t.test('timers due at the same instant fire in the order they were set', async (t) => {
    const clock = new ManualClock(0)
    const fired: string[] = []
    clock.setTimer(() => { fired.push('first') }, 10)
    clock.setTimer(() => { fired.push('second') }, 10)
    clock.setTimer(() => { fired.push('third') }, 10)
    await clock.advance(10)
    t.same(fired, ['first', 'second', 'third'])
  })

  t.test('a negative delay counts as zero', async (t) => {
    const clock = new ManualClock(0)
    let firedAt = -1
    clock.setTimer(() => { firedAt = clock.now() }, -50)
    await clock.advance(0)
    t.equal(firedAt, 0)
    t.equal(clock.pending, 0)
  })

  t.test('timers set by callbacks during advance fire when they fall due', async (t) => {
    const clock = new ManualClock(0)
    const fired: Array<[string, number]> = []
    clock.setTimer(() => {
      fired.push(['a', clock.now()])
      clock.setTimer(() => { fired.push(['a+2', clock.now()]) }, 2)
      clock.setTimer(() => { fired.push(['a+100', clock.now()]) }, 100)
    }, 10)
    clock.setTimer(() => { fired.push(['b', clock.now()]) }, 15)
    await clock.advance(20)
    t.same(fired, [['a', 10], ['a+2', 12], ['b', 15]], 'a timer set on the way fires before a later existing one')
    t.equal(clock.pending, 1, 'the one beyond the target waits')
    await clock.advance(90)
    t.same(fired.at(-1), ['a+100', 110])
  })

  t.test('a chain of zero-delay timers completes within one advance', async (t) => {
    const clock = new ManualClock(0)
    let count = 0
    const step = (): void => {
      if (++count < 5) clock.setTimer(step, 0)
    }
    clock.setTimer(step, 0)
    await clock.advance(0)
    t.equal(count, 5)
    t.equal(clock.now(), 0)
  })

  t.test('advance awaits async callbacks before the next timer and before returning', async (t) => {
    const clock = new ManualClock(0)
    const events: string[] = []
    clock.setTimer(async () => {
      events.push('a:start')
      await clock.yield()
      await new Promise((resolve) => setImmediate(resolve))
      events.push('a:end')
    }, 5)
    clock.setTimer(() => { events.push('b') }, 6)
    await clock.advance(10)
    t.same(events, ['a:start', 'a:end', 'b'])
  })

  t.test('advance rejects when a callback fails', async (t) => {
    const clock = new ManualClock(0)
    clock.setTimer(async () => { throw new Error('callback failed') }, 5)
    await t.rejects(clock.advance(10), { message: 'callback failed' })
    t.equal(clock.pending, 0, 'the failed timer is not fired again')
  })

  t.test('clearTimer cancels one timer; unknown handles are ignored', async (t) => {
    const clock = new ManualClock(0)
    const fired: string[] = []
    const a = clock.setTimer(() => { fired.push('a') }, 10)
    clock.setTimer(() => { fired.push('b') }, 10)
    t.not(a.id, clock.setTimer(() => { fired.push('c') }, 20).id, 'ids are distinct')
    clock.clearTimer(a)
    clock.clearTimer({ id: 12345 })
    t.equal(clock.pending, 2)
    await clock.advance(100)
    t.same(fired, ['b', 'c'])
  })

  t.test('a callback can clear a timer that is also due', async (t) => {
    const clock = new ManualClock(0)
    const fired: string[] = []
    const later = clock.setTimer(() => { fired.push('second') }, 6)
    clock.setTimer(() => {
      fired.push('first')
      clock.clearTimer(later)
    }, 5)
    await clock.advance(10)
    t.same(fired, ['first'])
  })

  t.test('runAll fires everything, however far, and returns how far time moved', async (t) => {
    const clock = new ManualClock(1_000)
    const fired: Array<[string, number]> = []
    clock.setTimer(() => { fired.push(['x', clock.now()]) }, 100)
    clock.setTimer(() => {
      fired.push(['y', clock.now()])
      clock.setTimer(() => { fired.push(['z', clock.now()]) }, 5_000)
    }, 50)
    const moved = await clock.runAll()
    t.same(fired, [['y', 1_050], ['x', 1_100], ['z', 6_050]])
    t.equal(moved, 5_050)
    t.equal(clock.now(), 6_050)
    t.equal(clock.pending, 0)
    t.equal(await clock.runAll(), 0, 'nothing left: time stays')
  })

  t.test('runAll gives up after its limit when timers keep coming', async (t) => {
    const clock = new ManualClock(0)
    let fired = 0
    const rearm = (): void => {
      fired++
      clock.setTimer(rearm, 1)
    }
    clock.setTimer(rearm, 1)
    await t.rejects(clock.runAll(5), { message: /^ManualClock\.runAll: still 1 timers after 5 / })
    t.equal(fired, 5, 'one timer a step, five steps')
    t.equal(clock.now(), 5)
    t.equal(clock.pending, 1, 'the next one is still there')
  })

  t.test('runAll limit also stops a timer that keeps re-arming at the same instant', async (t) => {
    const clock = new ManualClock(0)
    let fired = 0
    // Capped so that the test ends even if the limit does not stop it.
    const rearm = (): void => {
      if (++fired < 1_000) clock.setTimer(rearm, 0)
    }
    clock.setTimer(rearm, 0)
    await t.rejects(clock.runAll(10), { message: /^ManualClock\b.*\b10\b/ })
    t.equal(fired, 10, 'no more than the limit fired')
    t.equal(clock.now(), 0, 'time did not move')
  })

  t.test('advance stops a timer that keeps re-arming itself with no delay', async (t) => {
    const clock = new ManualClock(0)
    let fired = 0
    const rearm = (): void => {
      if (++fired < 1_000) clock.setTimer(rearm, 0)
    }
    clock.setTimer(rearm, 0)
    await t.rejects(clock.advance(50, 5), { message: 'ManualClock: more than 5 timers fired in one advance; a timer keeps re-arming itself' })
    t.equal(fired, 5)
    t.equal(clock.now(), 0, 'time stays where the loop was')
  })

  t.test('the advance limit counts timers fired in one call only', async (t) => {
    const clock = new ManualClock(0)
    const fired: number[] = []
    for (let i = 1; i <= 3; i++) clock.setTimer(() => { fired.push(clock.now()) }, i * 10)
    await clock.advance(30, 3)
    t.same(fired, [10, 20, 30], 'exactly the limit is allowed')
    for (let i = 1; i <= 3; i++) clock.setTimer(() => { fired.push(clock.now()) }, i * 10)
    await clock.advance(30, 3)
    t.equal(fired.length, 6, 'a new call starts counting again')
  })

  t.test('dispose drops every timer', async (t) => {
    const clock = new ManualClock(0)
    let fired = 0
    clock.setTimer(() => { fired++ }, 1)
    clock.setTimer(() => { fired++ }, 1_000)
    t.equal(clock.pending, 2)
    clock.dispose()
    t.equal(clock.pending, 0)
    await clock.advance(10_000)
    t.equal(fired, 0)
    t.equal(await clock.runAll(), 0)
  })

  t.test('pending counts timers not fired yet', async (t) => {
    const clock = new ManualClock(0)
    t.equal(clock.pending, 0)
    clock.setTimer(() => {}, 10)
    clock.setTimer(() => {}, 20)
    clock.setTimer(() => {}, 30)
    t.equal(clock.pending, 3)
    await clock.advance(20)
    t.equal(clock.pending, 1)
    await clock.advance(10)
    t.equal(clock.pending, 0)
  })
})
