/**
 * Persistent string-keyed map: a CHAMP-style hash array mapped trie (32-way, bitmap-compressed).
 * Keys and values sit inline in the node arrays (no per-entry objects). Every update path-copies
 * at most ~7 small arrays and returns a new PMap; nodes are never mutated once built, so old
 * versions stay valid. It is a plain class (no immer `[immerable]`), so immer treats it as an
 * opaque value.
 */

const BITS = 5;
const MASK = 31;
/** Past this shift all 32 hash bits are used up; equal hashes share a collision node. */
const MAX_SHIFT = 30;

/** FNV-1a over UTF-16 code units, then the murmur3 finaliser so the low bits (which pick the
 *  first trie levels) are well mixed even for short keys sharing a prefix. Returns an int32. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0; // int32 stays a Smi
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * A node is a bare array: a wrapper object would add ~48 bytes to each of the ~300k nodes
 * of a 1M-entry map. Which kind a node is follows from its depth:
 * - bitmap node (shift <= MAX_SHIFT): [datamap, nodemap, k0, v0, k1, v1, ..., child0, child1, ...]
 *   with pairs in datamap bit order, then children in nodemap bit order. Canonical form: a child
 *   always holds >= 2 entries (a lone survivor is pulled up into its parent).
 * - collision node (shift > MAX_SHIFT): [k0, v0, k1, v1, ...], keys with equal 32-bit hashes.
 */
type Node = unknown[];
const HEAD = 2;

const NOT_FOUND: unique symbol = Symbol('PMap.notFound');

// Set by insert() when a key was added rather than replaced. Updates are synchronous and
// never call user code, so a module-level flag is safe and saves a result object per call.
let added = false;

/** Copy of `arr` without `del` slots at index `d`, with `ins` spliced in at `i` (output index). */
function spliceCopy(arr: Node, d: number, del: number, i: number, ins: unknown[]): Node {
  const out = new Array<unknown>(arr.length - del + ins.length);
  let t = 0;
  for (let s = 0; s <= arr.length; s++) {
    if (t === i) for (const x of ins) out[t++] = x;
    if (s === arr.length) break;
    if (s < d || s >= d + del) out[t++] = arr[s];
  }
  return out;
}

function replaced(arr: Node, i: number, x: unknown): Node {
  const copy = arr.slice();
  copy[i] = x;
  return copy;
}

function withHeader(arr: Node, datamap: number, nodemap: number): Node {
  arr[0] = datamap; // only ever called on a fresh copy
  arr[1] = nodemap;
  return arr;
}

/** Smallest subtree holding two distinct keys. */
function pair(k1: string, v1: unknown, h1: number, k2: string, v2: unknown, h2: number, shift: number): Node {
  if (shift > MAX_SHIFT) return [k1, v1, k2, v2];
  const b1 = (h1 >>> shift) & MASK;
  const b2 = (h2 >>> shift) & MASK;
  if (b1 === b2) return [0, 1 << b1, pair(k1, v1, h1, k2, v2, h2, shift + BITS)];
  const bits = (1 << b1) | (1 << b2);
  return b1 < b2 ? [bits, 0, k1, v1, k2, v2] : [bits, 0, k2, v2, k1, v1];
}

function insert(node: Node, shift: number, h: number, key: string, value: unknown): Node {
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < node.length; i += 2) {
      if (node[i] === key) return Object.is(node[i + 1], value) ? node : replaced(node, i + 1, value);
    }
    added = true;
    return [...node, key, value];
  }
  const datamap = node[0] as number;
  const nodemap = node[1] as number;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = HEAD + 2 * popcount(datamap & (bit - 1));
    const k = node[i] as string;
    if (k === key) return Object.is(node[i + 1], value) ? node : replaced(node, i + 1, value);
    // Two keys share this slot: replace the inline pair with a child holding both.
    added = true;
    const child = pair(k, node[i + 1], hashString(k), key, value, h, shift + BITS);
    const j = HEAD + 2 * popcount(datamap) - 2 + popcount(nodemap & (bit - 1));
    return withHeader(spliceCopy(node, i, 2, j, [child]), datamap ^ bit, nodemap | bit);
  }
  if (nodemap & bit) {
    const j = HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1));
    const child = node[j] as Node;
    const next = insert(child, shift + BITS, h, key, value);
    return next === child ? node : replaced(node, j, next);
  }
  added = true;
  const i = HEAD + 2 * popcount(datamap & (bit - 1));
  return withHeader(spliceCopy(node, i, 0, i, [key, value]), datamap | bit, nodemap);
}

function remove(node: Node, shift: number, h: number, key: string): Node {
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < node.length; i += 2) if (node[i] === key) return spliceCopy(node, i, 2, 0, []);
    return node;
  }
  const datamap = node[0] as number;
  const nodemap = node[1] as number;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = HEAD + 2 * popcount(datamap & (bit - 1));
    if (node[i] !== key) return node;
    return withHeader(spliceCopy(node, i, 2, 0, []), datamap ^ bit, nodemap);
  }
  if (!(nodemap & bit)) return node;
  const j = HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1));
  const child = node[j] as Node;
  const next = remove(child, shift + BITS, h, key);
  if (next === child) return node;
  // Keep the canonical form: a child left with a single entry is inlined here.
  const at = shift + BITS > MAX_SHIFT ? 0 : HEAD;
  if (next.length !== at + 2 || (at === HEAD && next[1] !== 0)) return replaced(node, j, next);
  const i = HEAD + 2 * popcount(datamap & (bit - 1));
  return withHeader(spliceCopy(node, j, 1, i, [next[at], next[at + 1]]), datamap | bit, nodemap ^ bit);
}

export class PMap<V> {
  private static readonly EMPTY = new PMap<never>([0, 0], 0);

  private constructor(
    private readonly root: Node,
    readonly size: number,
  ) {}

  static empty<V>(): PMap<V> {
    return PMap.EMPTY as PMap<V>;
  }

  static fromEntries<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    let map = PMap.empty<V>();
    for (const [k, v] of entries) map = map.set(k, v);
    return map;
  }

  private lookup(key: string): V | typeof NOT_FOUND {
    const h = hashString(key);
    let node = this.root;
    for (let shift = 0; ; shift += BITS) {
      if (shift > MAX_SHIFT) {
        for (let i = 0; i < node.length; i += 2) if (node[i] === key) return node[i + 1] as V;
        return NOT_FOUND;
      }
      const datamap = node[0] as number;
      const nodemap = node[1] as number;
      const bit = 1 << ((h >>> shift) & MASK);
      if (datamap & bit) {
        const i = HEAD + 2 * popcount(datamap & (bit - 1));
        return node[i] === key ? (node[i + 1] as V) : NOT_FOUND;
      }
      if (!(nodemap & bit)) return NOT_FOUND;
      node = node[HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1))] as Node;
    }
  }

  get(key: string): V | undefined {
    const v = this.lookup(key);
    return v === NOT_FOUND ? undefined : v;
  }

  has(key: string): boolean {
    return this.lookup(key) !== NOT_FOUND;
  }

  /** Returns `this` when `key` already maps to an identical (Object.is) value. */
  set(key: string, value: V): PMap<V> {
    added = false;
    const root = insert(this.root, 0, hashString(key), key, value);
    return root === this.root ? this : new PMap(root, added ? this.size + 1 : this.size);
  }

  /** Returns `this` when `key` is absent. */
  delete(key: string): PMap<V> {
    const root = remove(this.root, 0, hashString(key), key);
    if (root === this.root) return this;
    return this.size === 1 ? PMap.empty<V>() : new PMap(root, this.size - 1);
  }

  /** Iteration order is the trie's (hash) order: stable for a given key set, not insertion order. */
  entries(): IterableIterator<[string, V]> {
    return this.walk((k, v): [string, V] => [k, v]);
  }

  keys(): IterableIterator<string> {
    return this.walk((k) => k);
  }

  values(): IterableIterator<V> {
    return this.walk((_k, v) => v);
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }

  // Explicit stacks rather than nested generators: yield* costs per level on every item.
  private *walk<R>(f: (key: string, value: V) => R): IterableIterator<R> {
    const nodes: Node[] = [this.root];
    const shifts: number[] = [0];
    for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
      const shift = shifts.pop() as number;
      const start = shift > MAX_SHIFT ? 0 : HEAD;
      const end = shift > MAX_SHIFT ? node.length : HEAD + 2 * popcount(node[0] as number);
      for (let i = start; i < end; i += 2) yield f(node[i] as string, node[i + 1] as V);
      for (let j = node.length - 1; j >= end; j--) {
        nodes.push(node[j] as Node);
        shifts.push(shift + BITS);
      }
    }
  }
}
