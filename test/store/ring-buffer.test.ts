import t from 'tap'
import { RingBuffer } from '../../src/store/ring-buffer.js'

function filled (capacity: number, items: number[]): RingBuffer<number> {
  const buffer = new RingBuffer<number>(capacity)
  for (const item of items) buffer.push(item)
  return buffer
}

t.test('an empty buffer has no items', async (t) => {
  const buffer = new RingBuffer<number>(3)
  t.equal(buffer.capacity, 3)
  t.equal(buffer.size, 0)
  t.same([...buffer.newestFirst()], [])
})

t.test('below capacity: every item, newest first', async (t) => {
  const buffer = filled(3, [1, 2])
  t.equal(buffer.size, 2)
  t.same([...buffer.newestFirst()], [2, 1])
})

t.test('exactly full: every item, newest first', async (t) => {
  const buffer = filled(3, [1, 2, 3])
  t.equal(buffer.size, 3)
  t.same([...buffer.newestFirst()], [3, 2, 1])
})

t.test('wrap-around: the oldest items are forgotten, the size stays at the capacity', async (t) => {
  const buffer = filled(3, [1, 2, 3, 4])
  t.equal(buffer.size, 3)
  t.same([...buffer.newestFirst()], [4, 3, 2])
  for (const item of [5, 6, 7]) buffer.push(item)
  t.equal(buffer.size, 3)
  t.same([...buffer.newestFirst()], [7, 6, 5], 'a whole second lap')
  buffer.push(8)
  t.same([...buffer.newestFirst()], [8, 7, 6], 'and past it')
})

t.test('capacity 1 keeps only the newest item', async (t) => {
  const buffer = filled(1, [1, 2, 3])
  t.equal(buffer.size, 1)
  t.same([...buffer.newestFirst()], [3])
})

t.test('capacity 0 keeps nothing', async (t) => {
  const buffer = filled(0, [1, 2])
  t.equal(buffer.capacity, 0)
  t.equal(buffer.size, 0)
  t.same([...buffer.newestFirst()], [])
  buffer.remove(() => true)
  buffer.clear()
  t.equal(buffer.size, 0)
  t.same([...buffer.newestFirst()], [])
})

t.test('newestFirst is lazy: it can stop early', async (t) => {
  const buffer = filled(5, [1, 2, 3, 4, 5, 6])
  const seen: number[] = []
  for (const item of buffer.newestFirst()) {
    seen.push(item)
    if (seen.length === 2) break
  }
  t.same(seen, [6, 5])
})

t.test('remove', async (t) => {
  t.test('drops the matching items and keeps the others in order', async (t) => {
    const buffer = filled(5, [1, 2, 3, 4])
    buffer.remove((item) => item % 2 === 0)
    t.equal(buffer.size, 2)
    t.same([...buffer.newestFirst()], [3, 1])
  })

  t.test('after a wrap-around, the order is kept and new items go after the kept ones', async (t) => {
    const buffer = filled(4, [1, 2, 3, 4, 5, 6])
    t.same([...buffer.newestFirst()], [6, 5, 4, 3], 'precondition: wrapped')
    buffer.remove((item) => item === 5 || item === 3)
    t.equal(buffer.size, 2)
    t.same([...buffer.newestFirst()], [6, 4])
    buffer.push(7)
    buffer.push(8)
    t.same([...buffer.newestFirst()], [8, 7, 6, 4], 'room again for two')
    buffer.push(9)
    t.same([...buffer.newestFirst()], [9, 8, 7, 6], 'then the oldest kept item goes first')
  })

  t.test('nothing matching: unchanged', async (t) => {
    const buffer = filled(3, [1, 2, 3, 4])
    buffer.remove(() => false)
    t.equal(buffer.size, 3)
    t.same([...buffer.newestFirst()], [4, 3, 2])
  })

  t.test('everything matching: empty', async (t) => {
    const buffer = filled(3, [1, 2, 3, 4])
    buffer.remove(() => true)
    t.equal(buffer.size, 0)
    t.same([...buffer.newestFirst()], [])
    buffer.push(5)
    t.same([...buffer.newestFirst()], [5])
  })
})

t.test('clear empties the buffer, which then fills from scratch', async (t) => {
  const buffer = filled(3, [1, 2, 3, 4, 5])
  buffer.clear()
  t.equal(buffer.size, 0)
  t.same([...buffer.newestFirst()], [])
  buffer.push(6)
  t.equal(buffer.size, 1)
  t.same([...buffer.newestFirst()], [6])
})

t.test('items are held by reference (the store copies what it hands out)', async (t) => {
  const item = { n: 1 }
  const buffer = new RingBuffer<{ n: number }>(2)
  buffer.push(item)
  t.equal([...buffer.newestFirst()][0], item)
})
