/**
 * Persistent min-heap: a pairing heap of immutable nodes in left-child/right-sibling form
 * (a node is never changed once a heap can reach it; see mergePairs). insert and peek are O(1); pop is amortised O(log n) with an iterative two-pass merge, so a
 * root with a million children (e.g. keys inserted in ascending order) cannot blow the stack.
 * Equal keys pop in insertion order: each node carries a per-heap sequence number (no global
 * state), reset when the heap empties. It is a plain class (no immer `[immerable]`), so immer
 * treats it as an opaque value.
 */

class HeapNode<T> {
  constructor(
    readonly key: number,
    readonly seq: number,
    readonly value: T,
    /** First child: the head of this node's child list. */
    readonly child: HeapNode<T> | null,
    /** Next sibling in the parent's child list; always null for a root. */
    readonly next: HeapNode<T> | null,
  ) {}
}

function before<T>(a: HeapNode<T>, b: HeapNode<T>): boolean {
  return a.key < b.key || (a.key === b.key && a.seq < b.seq);
}

/** Melds two trees, ignoring their `next` fields; the result's `next` is null. */
function link<T>(x: HeapNode<T>, y: HeapNode<T>): HeapNode<T> {
  const xFirst = !before(y, x);
  const a = xFirst ? x : y;
  const b = xFirst ? y : x;
  // b becomes a's first child; reuse b when its sibling pointer already fits.
  const kid = b.next === a.child ? b : new HeapNode(b.key, b.seq, b.value, b.child, a.child);
  return new HeapNode(a.key, a.seq, a.value, kid, null);
}

/** Mutable view of a node, used only on nodes `mergePairs` has just created. */
type Fresh<T> = { -readonly [K in keyof HeapNode<T>]: HeapNode<T>[K] };

/**
 * Standard two-pass pairing: link siblings pairwise left to right, then fold right to left.
 * Pass 1 must copy (its inputs belong to the old heap); pass 2 only ever links nodes made in
 * pass 1, which nothing else can see yet, so it relinks them in place and allocates nothing.
 */
function mergePairs<T>(first: HeapNode<T> | null): HeapNode<T> | null {
  if (first === null) return null;
  const pairs: HeapNode<T>[] = [];
  let c: HeapNode<T> | null = first;
  while (c !== null) {
    const d: HeapNode<T> | null = c.next;
    if (d === null) {
      // A lone last sibling is shared too; copy it only if pass 2 will relink it.
      pairs.push(pairs.length === 0 ? c : new HeapNode(c.key, c.seq, c.value, c.child, null));
      break;
    }
    pairs.push(link(c, d));
    c = d.next;
  }
  let acc = pairs[pairs.length - 1] as Fresh<T>;
  for (let i = pairs.length - 2; i >= 0; i--) {
    const p = pairs[i] as Fresh<T>;
    const pFirst = !before(acc, p);
    const a = pFirst ? p : acc;
    const b = pFirst ? acc : p;
    b.next = a.child;
    a.child = b;
    acc = a;
  }
  return acc;
}

export class PHeap<T> {
  private static readonly EMPTY = new PHeap<never>(null, 0, 0);

  private constructor(
    private readonly root: HeapNode<T> | null,
    readonly size: number,
    /** Sequence number for the next insert (FIFO among equal keys). */
    private readonly nextSeq: number,
  ) {}

  static empty<T>(): PHeap<T> {
    return PHeap.EMPTY as PHeap<T>;
  }

  static from<T>(items: Iterable<{ key: number; value: T }>): PHeap<T> {
    let heap = PHeap.empty<T>();
    for (const { key, value } of items) heap = heap.insert(key, value);
    return heap;
  }

  /** @throws RangeError for a NaN key, which would break the ordering. */
  insert(key: number, value: T): PHeap<T> {
    if (key !== key) throw new RangeError('PHeap key must not be NaN');
    const seq = this.nextSeq;
    const root = this.root;
    let next: HeapNode<T>;
    if (root === null) next = new HeapNode(key, seq, value, null, null);
    // The new node always has the highest seq, so it beats the root only on a strictly smaller key.
    else if (key < root.key) next = new HeapNode(key, seq, value, root, null);
    else next = new HeapNode(root.key, root.seq, root.value, new HeapNode(key, seq, value, null, root.child), null);
    return new PHeap(next, this.size + 1, seq + 1);
  }

  peek(): { key: number; value: T } | undefined {
    const root = this.root;
    // A fresh object, so callers cannot pin the internal tree.
    return root === null ? undefined : { key: root.key, value: root.value };
  }

  /** Removes the minimum (the earliest inserted among equal keys); no-op on an empty heap. */
  pop(): PHeap<T> {
    const root = this.root;
    if (root === null || this.size === 1) return PHeap.empty<T>();
    return new PHeap(mergePairs(root.child), this.size - 1, this.nextSeq);
  }

  /** All entries in unspecified order (a tree walk, not sorted); sort by key if order matters. */
  toArray(): Array<{ key: number; value: T }> {
    const out: Array<{ key: number; value: T }> = [];
    const stack: HeapNode<T>[] = [];
    if (this.root !== null) stack.push(this.root);
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      out.push({ key: n.key, value: n.value });
      if (n.child !== null) stack.push(n.child);
      if (n.next !== null) stack.push(n.next);
    }
    return out;
  }
}
