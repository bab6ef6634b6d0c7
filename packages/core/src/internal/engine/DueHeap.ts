/**
 * A binary min-heap of records by their `due` time (epoch millis): the scheduler's one queue, so a
 * single timer serves every followed task. Ties leave in no particular order.
 *
 * @internal
 */
export interface Due {
  due: number
}

export class DueHeap<A extends Due> {
  private readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  push(item: A): void {
    const items = this.items
    let index = items.push(item) - 1
    while (index > 0) {
      const parent = (index - 1) >> 1
      if (items[parent]!.due <= item.due) break
      items[index] = items[parent]!
      index = parent
    }
    items[index] = item
  }

  pop(): A | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    let index = 0
    const length = items.length
    while (true) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && items[right]!.due < items[left]!.due ? right : left
      if (items[child]!.due >= last.due) break
      items[index] = items[child]!
      index = child
    }
    items[index] = last
    return top
  }

  /** Every record, in no order, and the heap emptied. */
  drain(): Array<A> {
    return this.items.splice(0)
  }
}
