import t from 'tap'
import { gcTotals } from '../../bench/lib/gc-trace.js'

// Lines as Node.js 20 prints them under --trace-gc-nvp (shortened: V8 prints some 50 fields), between log lines.
const trace = [
  '[1892:0x164d2c60]      480 ms: pause=1.5 mutator=20.0 gc=s reduce_memory=0 allocated=1000 promoted=10 new_space_survived=300 nodes_died_in_new=3',
  '{"level":30,"time":1764921600000,"msg":"request"}',
  '[1892:0x164d2c60]     6989 ms: pause=4.4 mutator=11.6 gc=s reduce_memory=0 scavenge.parallel=3.34 background.scavenge.parallel=3.25 allocated=10829312 promoted=2597760 new_space_survived=2598656',
  '[1892:0x164d2c60]     7010.5 ms: pause=12.0 mutator=3.1 gc=mc reduce_memory=0 total_size_before=182310712',
  '[1892:0x164d2c60]     7500 ms: pause=2.0 mutator=9.0 gc=s reduce_memory=0 background.scavenge.parallel=1.5 new_space_survived=1000',
  '[1892:0x164d2c60]     7600 ms: pause=0.5 mutator=1.0 gc=mmc reduce_memory=0',
  ''
].join('\n')

t.test('gcTotals adds up scavenges and mark-compacts, skipping other lines', async (t) => {
  t.same(gcTotals(trace), { scavenges: 3, scavengeMs: 7.9, scavengeHelperMs: 4.75, survivedBytes: 2599956, markCompacts: 1, markCompactMs: 12 })
})

t.test('gcTotals keeps the collections that started within the window, by the isolate clock', async (t) => {
  t.same(gcTotals(trace, 6989, 7500), { scavenges: 1, scavengeMs: 4.4, scavengeHelperMs: 3.25, survivedBytes: 2598656, markCompacts: 1, markCompactMs: 12 })
  t.same(gcTotals(trace, 8000), { scavenges: 0, scavengeMs: 0, scavengeHelperMs: 0, survivedBytes: 0, markCompacts: 0, markCompactMs: 0 })
})

t.test('gcTotals reads a line without the fields it adds as zero', async (t) => {
  t.same(gcTotals('[1:0x1]  5 ms: gc=s\n[1:0x1]  6 ms: gc=mc'), { scavenges: 1, scavengeMs: 0, scavengeHelperMs: 0, survivedBytes: 0, markCompacts: 1, markCompactMs: 0 })
})
