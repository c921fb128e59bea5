/**
 * A mutable binary min-heap of `(due, value)` for an actor's timers, kept in parallel arrays so a
 * million entries cost three array slots each and no object per entry. Entries due at the same
 * moment leave in insertion order (a sequence number breaks ties), so a sweep keeps FIFO.
 */
export class TimerHeap<T> {
  private readonly keys: number[] = [];
  private readonly order: number[] = [];
  private readonly values: T[] = [];
  private inserted = 0;

  get size(): number {
    return this.keys.length;
  }

  /** The earliest entry, or undefined when empty. */
  peek(): { readonly key: number; readonly value: T } | undefined {
    return this.keys.length === 0 ? undefined : { key: this.keys[0] as number, value: this.values[0] as T };
  }

  /** Due time of the earliest entry. */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  /**
   * Every entry in the heap's own order, copied: inserting them in this order into an empty heap
   * rebuilds the same heap (a parent is never after its children, so none moves up).
   */
  toArray(): Array<{ key: number; value: T }> {
    return this.keys.map((key, i) => ({ key, value: this.values[i] as T }));
  }

  insert(key: number, value: T): void {
    this.keys.push(key);
    this.order.push(this.inserted++);
    this.values.push(value);
    this.up(this.keys.length - 1);
  }

  /** Removes and returns the earliest entry's value. */
  pop(): T | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = this.values[0] as T;
    const lastKey = this.keys.pop() as number;
    const lastOrder = this.order.pop() as number;
    const lastValue = this.values.pop() as T;
    if (n > 1) {
      this.keys[0] = lastKey;
      this.order[0] = lastOrder;
      this.values[0] = lastValue;
      this.down(0);
    }
    return top;
  }

  /**
   * Sifts the entry at `i` up: entries are moved into the hole it leaves rather than swapped, so
   * nothing is allocated (a destructuring swap made an array per step until the code was optimized).
   */
  private up(i: number): void {
    const { keys, order, values } = this;
    const key = keys[i] as number;
    const seq = order[i] as number;
    const value = values[i] as T;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pk = keys[parent] as number;
      if (!(key < pk || (key === pk && seq < (order[parent] as number)))) break;
      keys[i] = pk;
      order[i] = order[parent] as number;
      values[i] = values[parent] as T;
      i = parent;
    }
    keys[i] = key;
    order[i] = seq;
    values[i] = value;
  }

  private down(i: number): void {
    const { keys, order, values } = this;
    const n = keys.length;
    const key = keys[i] as number;
    const seq = order[i] as number;
    const value = values[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n) {
        const kr = keys[right] as number;
        const kl = keys[left] as number;
        if (kr < kl || (kr === kl && (order[right] as number) < (order[left] as number))) child = right;
      }
      const ck = keys[child] as number;
      if (!(ck < key || (ck === key && (order[child] as number) < seq))) break;
      keys[i] = ck;
      order[i] = order[child] as number;
      values[i] = values[child] as T;
      i = child;
    }
    keys[i] = key;
    order[i] = seq;
    values[i] = value;
  }
}
