/**
 * A partition's records by id: a hash table in insertion order that allocates only when it grows.
 *
 * Why not a `Map`: every payload is one insert and, once it leaves retention, one delete. V8's Map
 * leaves a hole per delete and rebuilds its whole table once the holes fill it (and halves it when
 * a wave has drained), so a partition of a few thousand records got a new ~60–110 KB table every
 * few thousand payloads. Each lived on in the young generation until the next one, and every
 * scavenge copied it: with 1,000 retained per partition, twice the bytes copied and promoted per
 * payload of any other retention, and five times the scavenges over 5 ms (docs/ARCHITECTURE.md,
 * "The young generation bounds what is left"). Here a delete clears its place at once (linear
 * probing with backward shift), the order log is compacted in place, and nothing is allocated
 * until the live records outgrow the arrays.
 *
 * Read-only while iterated: a `set` may compact the order log under an open iterator (a delete may
 * not), and the iterator then throws rather than skip or repeat records.
 */

/** Fewest places in the order log: small partitions stay small. */
const MIN_CAPACITY = 16;

/**
 * FNV-1a over the last 12 UTF-16 code units at most. An id's unique part ends it (a counter, or a
 * key's hash, then the partition), so the tail spreads as well as the whole and costs a fixed time.
 */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  const stop = Math.max(0, id.length - 12);
  for (let i = id.length - 1; i >= stop; i--) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h ^ id.length;
}

export class RecordTable<V extends { readonly id: string }> implements ReadonlyMap<string, V> {
  /** Values in insertion order; a deleted one leaves `undefined` until the log is compacted. */
  private log: (V | undefined)[];
  /** Each log place's hash. */
  private hashes: Int32Array;
  /** The index: log place + 1 per slot (0: empty), twice the log's capacity, probed linearly. */
  private slots: Int32Array;
  private slotMask: number;
  /** Log places used (live and deleted). */
  private end = 0;
  private live = 0;
  /** Bumped whenever the log is rewritten: open iterators check it. */
  private layout = 0;

  constructor(capacity = MIN_CAPACITY) {
    const size = 2 ** Math.ceil(Math.log2(Math.max(MIN_CAPACITY, capacity)));
    this.log = new Array<V | undefined>(size).fill(undefined);
    this.hashes = new Int32Array(size);
    this.slots = new Int32Array(size * 2);
    this.slotMask = size * 2 - 1;
  }

  get size(): number {
    return this.live;
  }

  get(id: string): V | undefined {
    const at = this.placeOf(id, idHash(id));
    return at < 0 ? undefined : this.log[at];
  }

  has(id: string): boolean {
    return this.placeOf(id, idHash(id)) >= 0;
  }

  /** Adds `value` under `id` (its own id), or replaces the value already there in its place. */
  set(id: string, value: V): this {
    const hash = idHash(id);
    const at = this.placeOf(id, hash);
    if (at >= 0) {
      this.log[at] = value;
      return this;
    }
    if (this.end === this.log.length) this.makeRoom();
    const place = this.end++;
    this.log[place] = value;
    this.hashes[place] = hash;
    this.index(hash, place);
    this.live++;
    return this;
  }

  delete(id: string): boolean {
    const mask = this.slotMask;
    const hash = idHash(id);
    let slot = hash & mask;
    for (;;) {
      const entry = this.slots[slot] as number;
      if (entry === 0) return false;
      if (this.hashes[entry - 1] === hash && (this.log[entry - 1] as V).id === id) break;
      slot = (slot + 1) & mask;
    }
    const place = (this.slots[slot] as number) - 1;
    this.log[place] = undefined;
    this.live--;
    if (place === this.end - 1) this.end--; // the newest left: its place is free again
    // Backward shift: every entry after the hole that may sit in it moves up, so no probe ever
    // crosses a tombstone and the index never needs rebuilding for deletes.
    let hole = slot;
    for (let next = (slot + 1) & mask; ; next = (next + 1) & mask) {
      const entry = this.slots[next] as number;
      if (entry === 0) break;
      const home = (this.hashes[entry - 1] as number) & mask;
      if (((next - home) & mask) >= ((next - hole) & mask)) {
        this.slots[hole] = entry;
        hole = next;
      }
    }
    this.slots[hole] = 0;
    return true;
  }

  clear(): void {
    this.log.fill(undefined, 0, this.end);
    this.slots.fill(0);
    this.end = 0;
    this.live = 0;
    this.layout++;
  }

  *values(): MapIterator<V> {
    const layout = this.layout;
    for (let i = 0; i < this.end; i++) {
      const value = this.log[i];
      if (value === undefined) continue;
      yield value;
      if (this.layout !== layout) throw new Error('records were added while being iterated');
    }
  }

  *keys(): MapIterator<string> {
    for (const value of this.values()) yield value.id;
  }

  *entries(): MapIterator<[string, V]> {
    for (const value of this.values()) yield [value.id, value];
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(callback: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (const value of this.values()) callback.call(thisArg, value, value.id, this);
  }

  get [Symbol.toStringTag](): string {
    return 'RecordTable';
  }

  /** The log place of `id`, or -1. */
  private placeOf(id: string, hash: number): number {
    const mask = this.slotMask;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot] as number;
      if (entry === 0) return -1;
      if (this.hashes[entry - 1] === hash && (this.log[entry - 1] as V).id === id) return entry - 1;
    }
  }

  private index(hash: number, place: number): void {
    const mask = this.slotMask;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = place + 1;
  }

  /**
   * The log is full: compacted in place when at least half of it was deleted, else doubled. A log
   * whose live records fell below an eighth of it is halved while compacting, so a partition that
   * once held a backlog does not keep its arrays for good.
   */
  private makeRoom(): void {
    const capacity = this.log.length;
    let size = capacity;
    if (this.live * 2 > capacity) size = capacity * 2;
    else if (this.live * 8 < capacity && capacity > MIN_CAPACITY) size = Math.max(MIN_CAPACITY, capacity / 2);
    const log = size === capacity ? this.log : new Array<V | undefined>(size).fill(undefined);
    const hashes = size === capacity ? this.hashes : new Int32Array(size);
    let kept = 0;
    for (let i = 0; i < this.end; i++) {
      const value = this.log[i];
      if (value === undefined) continue;
      log[kept] = value;
      hashes[kept] = this.hashes[i] as number;
      kept++;
    }
    if (log === this.log) log.fill(undefined, kept, this.end);
    this.log = log;
    this.hashes = hashes;
    if (size === capacity) this.slots.fill(0);
    else {
      this.slots = new Int32Array(size * 2);
      this.slotMask = size * 2 - 1;
    }
    this.end = kept;
    for (let i = 0; i < kept; i++) this.index(hashes[i] as number, i);
    this.layout++;
  }
}
