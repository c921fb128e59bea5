/**
 * A partition's records by id: a `Map` whose deletes leave the entry in place (its value cleared)
 * and that is rebuilt, in order, only once thousands were cleared, and more than half as many as live.
 *
 * Why not delete from the `Map`: every payload is one insert and, once it leaves retention, one
 * delete. V8's Map leaves a hole per delete, rebuilds its whole table once the holes fill it, and
 * halves it when live entries fall below a quarter (a wave drained down to what retention keeps):
 * a partition of a few thousand records got a new 60–110 KB table every few thousand payloads,
 * alive in the young generation until the next one, so scavenges copied each of them. With 1,000
 * retained per partition that doubled the bytes every payload left for scavenges to copy and
 * promote (docs/ARCHITECTURE.md, "The young generation bounds what is left"). A cleared entry
 * instead keeps the table as it is; the rebuild comes after at least `MIN_CLEARED` of them, when
 * the table has grown into a large object, which scavenges do not copy. Lookups stay the Map's
 * own (the id's hash is computed once, by V8, and cached in the string).
 *
 * Read-only while iterated: a `set` may rebuild the table, and an iterator open on it then throws
 * rather than skip or repeat records (a delete never rebuilds).
 */

/**
 * Cleared entries a table holds at least before it is rebuilt: enough that the table is a large
 * object by then (V8's tables past ~4,700 entries; 128 KB), so rebuilding is not churn in the
 * young generation. Past that, a rebuild also waits until the cleared are half as many as the
 * live: what it copies is then paid for by as many deletes, however large the table.
 */
const MIN_CLEARED = 6_000;

export class RecordTable<V extends { readonly id: string }> implements ReadonlyMap<string, V> {
  private table = new Map<string, V | undefined>();
  private live = 0;
  /** Entries whose record was deleted, their value cleared. */
  private cleared = 0;
  /** Bumped whenever the table is rebuilt: open iterators check it. */
  private layout = 0;

  get size(): number {
    return this.live;
  }

  get(id: string): V | undefined {
    return this.table.get(id);
  }

  has(id: string): boolean {
    return this.table.get(id) !== undefined;
  }

  /** Adds `value` under `id`, or replaces the value there in its place. */
  set(id: string, value: V): this {
    if (this.table.get(id) !== undefined) {
      this.table.set(id, value);
      return this;
    }
    if (this.cleared >= MIN_CLEARED && this.cleared * 2 > this.live) this.rebuild();
    const table = this.table;
    const size = table.size;
    table.set(id, value);
    if (table.size === size) {
      // It had a cleared entry, which kept the old place: a record added again goes last, as in a Map.
      table.delete(id);
      table.set(id, value);
      this.cleared--;
    }
    this.live++;
    return this;
  }

  delete(id: string): boolean {
    if (this.table.get(id) === undefined) return false;
    this.table.set(id, undefined);
    this.live--;
    this.cleared++;
    return true;
  }

  clear(): void {
    this.table = new Map();
    this.live = 0;
    this.cleared = 0;
    this.layout++;
  }

  *values(): MapIterator<V> {
    const layout = this.layout;
    for (const value of this.table.values()) {
      if (this.layout !== layout) throw new Error('records were added while being iterated');
      if (value !== undefined) yield value;
    }
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *entries(): MapIterator<[string, V]> {
    const layout = this.layout;
    for (const entry of this.table) {
      if (this.layout !== layout) throw new Error('records were added while being iterated');
      if (entry[1] !== undefined) yield entry as [string, V];
    }
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const [id, value] of this.entries()) callback.call(thisArg, value, id, this);
  }

  get [Symbol.toStringTag](): string {
    return 'RecordTable';
  }

  /** A new table with the live entries, in their order. */
  private rebuild(): void {
    const next = new Map<string, V | undefined>();
    for (const [id, value] of this.table) if (value !== undefined) next.set(id, value);
    this.table = next;
    this.cleared = 0;
    this.layout++;
  }
}
