import t from 'tap'
import { isTerminal, nextStatus, STAGES, type Stage } from '../../src/jobs/lifecycle.js'
import { JOB_STATUSES, type JobStatus } from '../../schemas/jobs.js'

t.test('STAGES are the statuses a job moves through on its own, in order', async (t) => {
  t.same([...STAGES], ['queued', 'validating', 'processing', 'pending_refresh'])
  t.same([...STAGES], JOB_STATUSES.slice(0, 4), 'the first statuses of the lifecycle order')
})

t.test('nextStatus walks queued to completed', async (t) => {
  t.equal(nextStatus('queued'), 'validating')
  t.equal(nextStatus('validating'), 'processing')
  t.equal(nextStatus('processing'), 'pending_refresh')
  t.equal(nextStatus('pending_refresh'), 'completed')

  const walked: JobStatus[] = ['queued']
  let status: JobStatus = 'queued'
  while (!isTerminal(status)) {
    status = nextStatus(status as Stage)
    walked.push(status)
  }
  t.same(walked, ['queued', 'validating', 'processing', 'pending_refresh', 'completed'], 'each stage once, ending completed')
})

t.test('isTerminal is true for completed and failed only', async (t) => {
  const terminal = JOB_STATUSES.filter((status) => isTerminal(status))
  t.same(terminal, ['completed', 'failed'])
  for (const stage of STAGES) t.equal(isTerminal(stage), false, `${stage} is not terminal`)
})
