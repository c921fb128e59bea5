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

  private before(a: number, b: number): boolean {
    const ka = this.keys[a] as number;
    const kb = this.keys[b] as number;
    return ka < kb || (ka === kb && (this.order[a] as number) < (this.order[b] as number));
  }

  private swap(a: number, b: number): void {
    const { keys, order, values } = this;
    [keys[a], keys[b]] = [keys[b] as number, keys[a] as number];
    [order[a], order[b]] = [order[b] as number, order[a] as number];
    [values[a], values[b]] = [values[b] as T, values[a] as T];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.keys.length;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) return;
      const right = left + 1;
      const child = right < n && this.before(right, left) ? right : left;
      if (!this.before(child, i)) return;
      this.swap(i, child);
      i = child;
    }
  }
}
