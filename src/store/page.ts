/** Offset pagination. */
export interface Page { limit: number, offset: number }

/** One page of an iteration, without copying what comes before or after it. */
export function takePage<T> (items: Iterable<T>, page: Page): T[] {
  const result: T[] = []
  if (page.limit <= 0) return result
  let index = 0
  for (const item of items) {
    if (index++ < page.offset) continue
    result.push(item)
    if (result.length === page.limit) break
  }
  return result
}

/** The items for which `keep` is true, lazily. */
export function * filterIterable<T> (items: Iterable<T>, keep: (item: T) => boolean): Iterable<T> {
  for (const item of items) if (keep(item)) yield item
}
