/**
 * A fixed-capacity buffer that forgets its oldest item when full: the bound
 * that keeps the request journal's memory flat in a long-running stack.
 */
export class RingBuffer<T> {
  readonly #items: Array<T | undefined>
  #next = 0
  #size = 0

  constructor (readonly capacity: number) {
    this.#items = new Array<T | undefined>(capacity)
  }

  get size (): number {
    return this.#size
  }

  push (item: T): void {
    if (this.capacity === 0) return
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.capacity
    this.#size = Math.min(this.#size + 1, this.capacity)
  }

  /** Items from the newest to the oldest. */
  * newestFirst (): IterableIterator<T> {
    for (let i = 1; i <= this.#size; i++) {
      yield this.#items[(this.#next - i + this.capacity) % this.capacity] as T
    }
  }

  /** Items from the oldest to the newest, the first `skip` of them left out. */
  * oldestFirst (skip = 0): IterableIterator<T> {
    for (let i = this.#size - skip; i >= 1; i--) {
      yield this.#items[(this.#next - i + this.capacity) % this.capacity] as T
    }
  }

  /** Drops the items for which `drop` is true, keeping the others in order. */
  remove (drop: (item: T) => boolean): void {
    const kept = [...this.newestFirst()].filter((item) => !drop(item)).reverse()
    this.clear()
    for (const item of kept) this.push(item)
  }

  clear (): void {
    this.#items.fill(undefined)
    this.#next = 0
    this.#size = 0
  }
}
