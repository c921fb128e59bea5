/**
 * Persistent FIFO queue: a banker's queue (front list + reversed back list of immutable cells)
 * whose cells hold chunks of CHUNK items instead of one item each, which brings the cost down
 * from ~40 bytes per item (one cons cell) to ~13. push, peek and shift are amortised O(1).
 * It is a plain class (no immer `[immerable]`), so immer treats it as an opaque value.
 *
 * The one shared mutable thing is the end of the `tail` buffer: a version may append in place
 * only when the buffer's length equals its own logical length, i.e. no other version has
 * appended past it yet; otherwise it copies. Every version only reads its own prefix, so no
 * version ever observes a change. (Like any banker's queue, the amortised bound assumes
 * single-threaded use, as in a reducer; re-shifting one old version repeatedly stays correct.)
 */

const CHUNK = 32;

/** Immutable list cell holding a full chunk (exactly CHUNK items, never appended to again). */
class Cell<T> {
  constructor(
    readonly items: readonly T[],
    readonly next: Cell<T> | null,
  ) {}
}

function reverse<T>(list: Cell<T> | null): Cell<T> | null {
  let out: Cell<T> | null = null;
  for (let c = list; c !== null; c = c.next) out = new Cell(c.items, out);
  return out;
}

export class PQueue<T> {
  private static readonly EMPTY = new PQueue<never>(null, null, [], 0, 0, 0);

  private constructor(
    /** Full chunks, oldest first. Invariant: front === null implies back === null. */
    private readonly front: Cell<T> | null,
    /** Full chunks, newest first. */
    private readonly back: Cell<T> | null,
    /** Newest, partly filled chunk; only tail[0, tailLen) belongs to this version. */
    private readonly tail: T[],
    private readonly tailLen: number,
    /** Items already shifted off the first chunk (front.items, or tail if front is null). */
    private readonly offset: number,
    readonly size: number,
  ) {}

  static empty<T>(): PQueue<T> {
    return PQueue.EMPTY as PQueue<T>;
  }

  static from<T>(items: Iterable<T>): PQueue<T> {
    let q = PQueue.empty<T>();
    for (const item of items) q = q.push(item);
    return q;
  }

  push(item: T): PQueue<T> {
    const { front, back, tail, tailLen, offset } = this;
    if (tailLen === 0) return new PQueue(front, back, [item], 1, offset, this.size + 1);
    if (tailLen < CHUNK) {
      let next = tail;
      // isExtensible guards against someone having deep-frozen the state.
      if (tail.length !== tailLen || !Object.isExtensible(tail)) next = tail.slice(0, tailLen);
      next.push(item);
      return new PQueue(front, back, next, tailLen + 1, offset, this.size + 1);
    }
    // Tail is full: retire it as a chunk. With no front it becomes the front (offset stays valid).
    if (front === null) return new PQueue(new Cell(tail, null), null, [item], 1, offset, this.size + 1);
    return new PQueue(front, new Cell(tail, back), [item], 1, offset, this.size + 1);
  }

  peek(): T | undefined {
    if (this.size === 0) return undefined;
    return (this.front === null ? this.tail : this.front.items)[this.offset];
  }

  /** Removes the head. Shifted items stay referenced until their chunk is dropped (< CHUNK items). */
  shift(): PQueue<T> {
    if (this.size <= 1) return PQueue.empty<T>();
    const { front, back, tail, tailLen } = this;
    const offset = this.offset + 1;
    if (front === null || offset < CHUNK) return new PQueue(front, back, tail, tailLen, offset, this.size - 1);
    // First chunk used up: move on, refilling the front from the back list when it runs dry.
    if (front.next === null) return new PQueue(reverse(back), null, tail, tailLen, 0, this.size - 1);
    return new PQueue(front.next, back, tail, tailLen, 0, this.size - 1);
  }

  toArray(): T[] {
    const out = new Array<T>(this.size);
    let n = 0;
    for (const item of this) out[n++] = item;
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    if (this.size === 0) return;
    let start = this.offset;
    const chunks: Array<readonly T[]> = [];
    for (let c = this.front; c !== null; c = c.next) chunks.push(c.items);
    const backChunks: Array<readonly T[]> = [];
    for (let c = this.back; c !== null; c = c.next) backChunks.push(c.items);
    for (let i = backChunks.length - 1; i >= 0; i--) chunks.push(backChunks[i] as readonly T[]);
    for (const items of chunks) {
      for (let i = start; i < items.length; i++) yield items[i] as T;
      start = 0;
    }
    for (let i = start; i < this.tailLen; i++) yield this.tail[i] as T;
  }
}
