import t from 'tap'
import { ManualClock } from '../../src/clock.js'
import { DeletionScheduler, nextDeletionRun } from '../../src/realtime/deletions.js'
import { MemoryProfiles } from '../../src/store/memory-profiles.js'
import type { DeletionCount, ProfileStore } from '../../src/store/store.js'

const at = (text: string): number => Date.parse(text)
const R = { kind: 'request', id: 'r' } as const

t.test('nextDeletionRun: the first 02:00 UTC strictly after now', async (t) => {
  t.equal(nextDeletionRun(at('2025-05-19T07:29:12.000Z')), at('2025-05-20T02:00:00.000Z'))
  t.equal(nextDeletionRun(at('2025-05-19T01:59:59.999Z')), at('2025-05-19T02:00:00.000Z'), 'before 02:00: today')
  t.equal(nextDeletionRun(at('2025-05-19T02:00:00.000Z')), at('2025-05-20T02:00:00.000Z'), 'at 02:00 exactly: tomorrow')
  t.equal(nextDeletionRun(at('2025-12-31T23:00:00.000Z')), at('2026-01-01T02:00:00.000Z'), 'across a year')
  t.equal(nextDeletionRun(at('2024-02-28T12:00:00.000Z')), at('2024-02-29T02:00:00.000Z'), 'a leap day')
})

/** Profiles with one user scheduled for `due`. */
async function profilesWithDeletion (due: number): Promise<MemoryProfiles> {
  const profiles = new MemoryProfiles()
  await profiles.identify('a', { user: { user_id: 'u1' } }, R, 0)
  await profiles.scheduleDeletions('a', 'users', ['u1'], due)
  return profiles
}

t.test('start runs what fell due while no mock ran, and arms the next run for what is left', async (t) => {
  const clock = new ManualClock(at('2025-05-19T07:00:00.000Z'))
  const profiles = await profilesWithDeletion(at('2025-05-19T02:00:00.000Z'))
  await profiles.identify('a', { user: { user_id: 'u2' } }, R, 0)
  await profiles.scheduleDeletions('a', 'users', ['u2'], at('2025-05-20T02:00:00.000Z'))
  const scheduler = new DeletionScheduler({ profiles, clock, autoAdvance: true, shared: false, onError: (error) => { t.error(error) } })
  await scheduler.start()
  t.equal(await profiles.getUser('a', 'u1'), undefined, 'the overdue one went at start')
  t.ok(await profiles.getUser('a', 'u2'), 'the other waits')
  t.equal(clock.pending, 1, 'armed for it')
  await clock.advance(at('2025-05-20T02:00:00.000Z') - clock.now())
  t.equal(await profiles.getUser('a', 'u2'), undefined)
  t.equal(clock.pending, 0, 'nothing left: not armed again')
  await scheduler.close()
})

t.test('with a shared store the daily run stays armed, for deletions other replicas schedule', async (t) => {
  const clock = new ManualClock(at('2025-05-19T07:00:00.000Z'))
  const scheduler = new DeletionScheduler({ profiles: new MemoryProfiles(), clock, autoAdvance: true, shared: true, onError: (error) => { t.error(error) } })
  await scheduler.start()
  t.equal(clock.pending, 1, 'armed with nothing pending here')
  await clock.advance(86_400_000)
  t.equal(clock.pending, 1, 'and again after the run')
  await scheduler.close()
  t.equal(clock.pending, 0, 'close clears it')
  scheduler.scheduled(clock.now() + 1)
  t.equal(clock.pending, 0, 'nothing is armed once closed')
})

t.test('scheduled() arms only when nothing is armed for that time or sooner; never under MOCK_CLOCK=manual', async (t) => {
  const clock = new ManualClock(0)
  const scheduler = new DeletionScheduler({ profiles: new MemoryProfiles(), clock, autoAdvance: true, shared: false, onError: (error) => { t.error(error) } })
  scheduler.scheduled(1000)
  scheduler.scheduled(2000)
  t.equal(clock.pending, 1)
  scheduler.scheduled(500)
  t.equal(clock.pending, 1, 'the sooner time replaces the timer')
  await scheduler.close()
  const manual = new DeletionScheduler({ profiles: new MemoryProfiles(), clock, autoAdvance: false, shared: true, onError: (error) => { t.error(error) } })
  await manual.start()
  manual.scheduled(1000)
  t.equal(clock.pending, 0, 'manual: no timer at all')
  t.strictSame(await manual.flush(null), { users: 0, companies: 0 })
})

t.test('a failed run is reported, and close waits for a run under way without arming another', async (t) => {
  const clock = new ManualClock(0)
  let release = (): void => {}
  const calls: Array<[string | null, number]> = []
  const profiles = {
    runDeletions: async (tenant: string | null, dueBy: number): Promise<DeletionCount> => {
      calls.push([tenant, dueBy])
      if (calls.length === 1) throw new Error('store away')
      await new Promise<void>((resolve) => { release = resolve })
      return { users: 0, companies: 0 }
    },
    hasDeletions: async () => true
  } as unknown as ProfileStore
  const errors: unknown[] = []
  const scheduler = new DeletionScheduler({ profiles, clock, autoAdvance: true, shared: false, onError: (error) => errors.push(error) })
  scheduler.scheduled(10)
  await clock.advance(10)
  t.match(errors, [{ message: 'store away' }], 'reported')
  scheduler.scheduled(20)
  const firing = clock.advance(10)
  await new Promise((resolve) => setImmediate(resolve))
  const closing = scheduler.close()
  release()
  await Promise.all([firing, closing])
  t.equal(calls.length, 2)
  t.equal(clock.pending, 0, 'closed during the run: not armed again')
})
