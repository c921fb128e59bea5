/**
 * Persistent string-keyed map: a CHAMP-style hash array mapped trie (32-way, bitmap-compressed).
 * Keys and values sit inline in the node arrays (no per-entry objects), which keeps a 1M-entry
 * map at a few dozen bytes per entry. Every update path-copies at most ~7 small arrays and
 * returns a new PMap; nodes are never mutated once built, so old versions stay valid.
 * It is a plain class (no immer `[immerable]`), so immer treats it as an opaque value.
 */

const BITS = 5;
const MASK = 31;
/** Past this shift all 32 hash bits are used up; equal hashes go to a Collision node. */
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

type Slot<V> = string | V | TrieNode<V>;
type TrieNode<V> = Bitmap<V> | Collision<V>;

/** arr = [k0, v0, k1, v1, ..., child0, child1, ...]: data pairs in `datamap` bit order, then
 *  sub-nodes in `nodemap` bit order. Canonical form: a sub-node always holds >= 2 entries. */
class Bitmap<V> {
  constructor(
    readonly datamap: number,
    readonly nodemap: number,
    readonly arr: Slot<V>[],
  ) {}
}

/** Keys whose full 32-bit hashes are equal: arr = [k0, v0, k1, v1, ...], scanned linearly. */
class Collision<V> {
  constructor(
    readonly hash: number,
    readonly arr: Slot<V>[],
  ) {}
}

const NOT_FOUND: unique symbol = Symbol('PMap.notFound');

// Set by insert() when a key was added rather than replaced. Updates are synchronous and
// never call user code, so a module-level flag is safe and saves a result object per call.
let added = false;

function pair<V>(k1: string, v1: V, h1: number, k2: string, v2: V, h2: number, shift: number): TrieNode<V> {
  if (shift > MAX_SHIFT) return new Collision<V>(h1, [k1, v1, k2, v2]);
  const b1 = (h1 >>> shift) & MASK;
  const b2 = (h2 >>> shift) & MASK;
  if (b1 === b2) return new Bitmap<V>(0, 1 << b1, [pair(k1, v1, h1, k2, v2, h2, shift + BITS)]);
  return new Bitmap<V>((1 << b1) | (1 << b2), 0, b1 < b2 ? [k1, v1, k2, v2] : [k2, v2, k1, v1]);
}

function withSlot<V>(arr: Slot<V>[], i: number, x: Slot<V>): Slot<V>[] {
  const copy = arr.slice();
  copy[i] = x;
  return copy;
}

function insert<V>(node: TrieNode<V>, shift: number, h: number, key: string, value: V): TrieNode<V> {
  if (shift > MAX_SHIFT) {
    const arr = node.arr;
    for (let i = 0; i < arr.length; i += 2) {
      if (arr[i] === key) return Object.is(arr[i + 1], value) ? node : new Collision<V>(h, withSlot(arr, i + 1, value));
    }
    added = true;
    return new Collision<V>(h, [...arr, key, value]);
  }
  const { datamap, nodemap, arr } = node as Bitmap<V>;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = 2 * popcount(datamap & (bit - 1));
    const k = arr[i] as string;
    if (k === key) return Object.is(arr[i + 1], value) ? node : new Bitmap<V>(datamap, nodemap, withSlot(arr, i + 1, value));
    // Two keys share this slot: replace the inline pair with a sub-node holding both.
    added = true;
    const child = pair(k, arr[i + 1] as V, hashString(k), key, value, h, shift + BITS);
    const dm = datamap ^ bit;
    const nm = nodemap | bit;
    const d = 2 * popcount(datamap); // old start of children
    const j = d - 2 + popcount(nodemap & (bit - 1)); // new index of the child
    const out = new Array<Slot<V>>(arr.length - 1);
    for (let s = 0, t = 0; s < arr.length; s++) {
      if (s === i || s === i + 1) continue;
      if (t === j) out[t++] = child;
      out[t++] = arr[s] as Slot<V>;
    }
    if (j === arr.length - 2) out[j] = child;
    return new Bitmap<V>(dm, nm, out);
  }
  if (nodemap & bit) {
    const j = 2 * popcount(datamap) + popcount(nodemap & (bit - 1));
    const child = arr[j] as TrieNode<V>;
    const next = insert(child, shift + BITS, h, key, value);
    return next === child ? node : new Bitmap<V>(datamap, nodemap, withSlot(arr, j, next));
  }
  added = true;
  const i = 2 * popcount(datamap & (bit - 1));
  const out = new Array<Slot<V>>(arr.length + 2);
  for (let s = 0; s < i; s++) out[s] = arr[s] as Slot<V>;
  out[i] = key;
  out[i + 1] = value;
  for (let s = i; s < arr.length; s++) out[s + 2] = arr[s] as Slot<V>;
  return new Bitmap<V>(datamap | bit, nodemap, out);
}

/** A sub-node left with exactly one entry gets inlined into its parent (canonical form). */
function isSingleton<V>(node: TrieNode<V>): boolean {
  return node.arr.length === 2 && (node instanceof Collision || node.nodemap === 0);
}

function remove<V>(node: TrieNode<V>, shift: number, h: number, key: string): TrieNode<V> {
  const arr = node.arr;
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < arr.length; i += 2) {
      if (arr[i] === key) return new Collision<V>(h, [...arr.slice(0, i), ...arr.slice(i + 2)]);
    }
    return node;
  }
  const { datamap, nodemap } = node as Bitmap<V>;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = 2 * popcount(datamap & (bit - 1));
    if (arr[i] !== key) return node;
    const out = new Array<Slot<V>>(arr.length - 2);
    for (let s = 0, t = 0; s < arr.length; s++) if (s !== i && s !== i + 1) out[t++] = arr[s] as Slot<V>;
    return new Bitmap<V>(datamap ^ bit, nodemap, out);
  }
  if (!(nodemap & bit)) return node;
  const d = 2 * popcount(datamap);
  const j = d + popcount(nodemap & (bit - 1));
  const child = arr[j] as TrieNode<V>;
  const next = remove(child, shift + BITS, h, key);
  if (next === child) return node;
  if (!isSingleton(next)) return new Bitmap<V>(datamap, nodemap, withSlot(arr, j, next));
  // Pull the lone entry up: drop child j, insert the pair among the data at bit order.
  const i = 2 * popcount(datamap & (bit - 1));
  const out = new Array<Slot<V>>(arr.length + 1);
  for (let s = 0, t = 0; s < arr.length; s++) {
    if (t === i) {
      out[t++] = next.arr[0] as Slot<V>;
      out[t++] = next.arr[1] as Slot<V>;
    }
    if (s !== j) out[t++] = arr[s] as Slot<V>;
  }
  return new Bitmap<V>(datamap | bit, nodemap ^ bit, out);
}

export class PMap<V> {
  private static readonly EMPTY = new PMap<never>(new Bitmap<never>(0, 0, []), 0);

  private constructor(
    private readonly root: Bitmap<V>,
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
    let node: TrieNode<V> = this.root;
    for (let shift = 0; ; shift += BITS) {
      const arr = node.arr;
      if (shift > MAX_SHIFT) {
        for (let i = 0; i < arr.length; i += 2) if (arr[i] === key) return arr[i + 1] as V;
        return NOT_FOUND;
      }
      const { datamap, nodemap } = node as Bitmap<V>;
      const bit = 1 << ((h >>> shift) & MASK);
      if (datamap & bit) {
        const i = 2 * popcount(datamap & (bit - 1));
        return arr[i] === key ? (arr[i + 1] as V) : NOT_FOUND;
      }
      if (!(nodemap & bit)) return NOT_FOUND;
      node = arr[2 * popcount(datamap) + popcount(nodemap & (bit - 1))] as TrieNode<V>;
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
    const root = insert(this.root, 0, hashString(key), key, value) as Bitmap<V>;
    return root === this.root ? this : new PMap(root, added ? this.size + 1 : this.size);
  }

  /** Returns `this` when `key` is absent. */
  delete(key: string): PMap<V> {
    const root = remove(this.root, 0, hashString(key), key) as Bitmap<V>;
    if (root === this.root) return this;
    return this.size === 1 ? PMap.empty<V>() : new PMap(root, this.size - 1);
  }

  /** Iteration order is the trie's (hash) order: stable for a given set of keys, not insertion order. */
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

  // Explicit stack rather than nested generators: yield* costs per level on every item.
  private *walk<R>(f: (key: string, value: V) => R): IterableIterator<R> {
    const stack: TrieNode<V>[] = [this.root];
    for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
      const arr = node.arr;
      const d = node instanceof Collision ? arr.length : 2 * popcount(node.datamap);
      for (let i = 0; i < d; i += 2) yield f(arr[i] as string, arr[i + 1] as V);
      for (let j = arr.length - 1; j >= d; j--) stack.push(arr[j] as TrieNode<V>);
    }
  }
}
