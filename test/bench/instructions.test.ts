import t from 'tap'
import { instructionsOf, perRequest } from '../../bench/lib/instructions.js'

t.test('instructionsOf: the total from cachegrind\'s summary, or nothing', async (t) => {
  t.equal(instructionsOf('==7385== \n==7385== I   refs:      6,146,179,422\n'), 6_146_179_422)
  t.equal(instructionsOf('==12== I refs: 1,000\n==12== other'), 1000, 'the newer spacing')
  t.equal(instructionsOf('answer 429, not 202\n'), undefined, 'a run that failed before the summary')
})

t.test('perRequest: the difference of two runs over the requests between them', async (t) => {
  t.equal(perRequest({ requests: 2000, instructions: 6_146_000_000 }, { requests: 6000, instructions: 8_754_000_000 }), 652_000)
  t.throws(() => perRequest({ requests: 10, instructions: 5 }, { requests: 10, instructions: 9 }), { message: 'the second run must make more requests than the first (10 and 10)' })
})
