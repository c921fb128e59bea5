/**
 * The trie behind PMap (pmap.ts): a CHAMP-style hash array mapped trie (32-way, bitmap-compressed)
 * over string keys. Keys and values sit inline in the node arrays (no per-entry objects).
 *
 * Every write takes an `owner`: null for PMap's own set/delete, which path-copy at most ~7 small
 * arrays and never touch an existing node, or the token of a live TransientPMap, which may edit in
 * place the nodes it created itself (see `editable`) and path-copies everything else.
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
 * - bitmap node (shift <= MAX_SHIFT): [datamap, nodemap, owner, k0, v0, k1, v1, ..., child0, ...]
 *   with pairs in datamap bit order, then children in nodemap bit order. Canonical form: a child
 *   always holds >= 2 entries (a lone survivor is pulled up into its parent).
 * - collision node (shift > MAX_SHIFT): [k0, v0, k1, v1, ...], keys with equal 32-bit hashes.
 *   No owner slot: such nodes are rare and tiny, so transients just copy them on every write.
 *
 * `owner` is the token of the transient that built the node, or null. Tokens are fresh objects
 * that only their live transient holds; persistent() drops it, so every node it stamped is frozen
 * from then on without a walk. The slot costs 8 bytes per node (~2.5 bytes per entry), against a
 * Set/WeakSet of owned nodes that would cost a hash lookup per level on every transient write.
 */
export type Node = unknown[];
export type Owner = object | null;
const OWNER = 2;
const HEAD = 3;

export const EMPTY_ROOT: Node = [0, 0, null];

export const NOT_FOUND: unique symbol = Symbol('PMap.notFound');

// Set by insert()/remove() when a key was added or removed rather than replaced or not found.
// Writes are synchronous and never call user code, so a module-level flag is safe and saves a
// result object per call.
let resized = false;

/** `node` itself when `owner` may edit it in place, else a copy stamped with `owner`. */
function editable(node: Node, owner: Owner): Node {
  if (owner !== null && node[OWNER] === owner) return node;
  const copy = node.slice();
  copy[OWNER] = owner;
  return copy;
}

/**
 * Copy of `arr` without `del` slots at index `d`, with `n` (0-2) values `a`, `b` spliced in at
 * output index `i`. Changing a node's length always copies, even for an owned node: growing an
 * array in place leaves V8 capacity slack (up to +50% +16 slots) that would outlive the transient.
 */
function spliceCopy(arr: Node, d: number, del: number, i: number, n: number, a?: unknown, b?: unknown): Node {
  const out = new Array<unknown>(arr.length - del + n);
  let t = 0;
  for (let s = 0; s <= arr.length; s++) {
    if (t === i && n > 0) {
      out[t++] = a;
      if (n > 1) out[t++] = b;
      n = 0;
    }
    if (s === arr.length) break;
    if (s < d || s >= d + del) out[t++] = arr[s];
  }
  return out;
}

function withHeader(arr: Node, datamap: number, nodemap: number, owner: Owner): Node {
  arr[0] = datamap; // only ever called on a fresh copy
  arr[1] = nodemap;
  arr[OWNER] = owner;
  return arr;
}

function replaced(arr: Node, i: number, x: unknown): Node {
  const copy = arr.slice();
  copy[i] = x;
  return copy;
}

/** Smallest subtree holding two distinct keys. */
function pair(
  k1: string, v1: unknown, h1: number, k2: string, v2: unknown, h2: number, shift: number, owner: Owner,
): Node {
  if (shift > MAX_SHIFT) return [k1, v1, k2, v2];
  const b1 = (h1 >>> shift) & MASK;
  const b2 = (h2 >>> shift) & MASK;
  if (b1 === b2) return [0, 1 << b1, owner, pair(k1, v1, h1, k2, v2, h2, shift + BITS, owner)];
  const bits = (1 << b1) | (1 << b2);
  return b1 < b2 ? [bits, 0, owner, k1, v1, k2, v2] : [bits, 0, owner, k2, v2, k1, v1];
}

function insert(node: Node, shift: number, h: number, key: string, value: unknown, owner: Owner): Node {
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < node.length; i += 2) {
      if (node[i] === key) return Object.is(node[i + 1], value) ? node : replaced(node, i + 1, value);
    }
    resized = true;
    return [...node, key, value];
  }
  const datamap = node[0] as number;
  const nodemap = node[1] as number;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = HEAD + 2 * popcount(datamap & (bit - 1));
    const k = node[i] as string;
    if (k === key) {
      if (Object.is(node[i + 1], value)) return node;
      const out = editable(node, owner);
      out[i + 1] = value;
      return out;
    }
    // Two keys share this slot: replace the inline pair with a child holding both.
    resized = true;
    const child = pair(k, node[i + 1], hashString(k), key, value, h, shift + BITS, owner);
    const j = HEAD + 2 * popcount(datamap) - 2 + popcount(nodemap & (bit - 1));
    return withHeader(spliceCopy(node, i, 2, j, 1, child), datamap ^ bit, nodemap | bit, owner);
  }
  if (nodemap & bit) {
    const j = HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1));
    const child = node[j] as Node;
    const next = insert(child, shift + BITS, h, key, value, owner);
    // An owned child edited in place comes back as itself: nothing to do at this level either.
    if (next === child) return node;
    const out = editable(node, owner);
    out[j] = next;
    return out;
  }
  resized = true;
  const i = HEAD + 2 * popcount(datamap & (bit - 1));
  return withHeader(spliceCopy(node, i, 0, i, 2, key, value), datamap | bit, nodemap, owner);
}

function remove(node: Node, shift: number, h: number, key: string, owner: Owner): Node {
  if (shift > MAX_SHIFT) {
    for (let i = 0; i < node.length; i += 2) {
      if (node[i] === key) {
        resized = true;
        return spliceCopy(node, i, 2, 0, 0);
      }
    }
    return node;
  }
  const datamap = node[0] as number;
  const nodemap = node[1] as number;
  const bit = 1 << ((h >>> shift) & MASK);
  if (datamap & bit) {
    const i = HEAD + 2 * popcount(datamap & (bit - 1));
    if (node[i] !== key) return node;
    resized = true;
    return withHeader(spliceCopy(node, i, 2, 0, 0), datamap ^ bit, nodemap, owner);
  }
  if (!(nodemap & bit)) return node;
  const j = HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1));
  const child = node[j] as Node;
  const next = remove(child, shift + BITS, h, key, owner);
  // Same child back: key absent, or edited in place. In-place edits never change a node's arity
  // (removals always copy the node that shrinks), so the child still holds >= 2 entries.
  if (next === child) return node;
  // Keep the canonical form: a child left with a single entry is inlined here.
  const at = shift + BITS > MAX_SHIFT ? 0 : HEAD;
  if (next.length !== at + 2 || (at === HEAD && next[1] !== 0)) {
    const out = editable(node, owner);
    out[j] = next;
    return out;
  }
  const i = HEAD + 2 * popcount(datamap & (bit - 1));
  return withHeader(spliceCopy(node, j, 1, i, 2, next[at], next[at + 1]), datamap | bit, nodemap ^ bit, owner);
}

/** New root after setting `key`; editable nodes of `owner` may be changed in place. */
export function setIn(root: Node, key: string, value: unknown, owner: Owner): Node {
  resized = false;
  return insert(root, 0, hashString(key), key, value, owner);
}

/** New root after deleting `key`; editable nodes of `owner` may be changed in place. */
export function deleteIn(root: Node, key: string, owner: Owner): Node {
  resized = false;
  return remove(root, 0, hashString(key), key, owner);
}

/** Whether the last setIn/deleteIn added or removed a key (rather than replaced or missed one). */
export function lastWriteResized(): boolean {
  return resized;
}

export function lookup(root: Node, key: string): unknown {
  const h = hashString(key);
  let node = root;
  for (let shift = 0; ; shift += BITS) {
    if (shift > MAX_SHIFT) {
      for (let i = 0; i < node.length; i += 2) if (node[i] === key) return node[i + 1];
      return NOT_FOUND;
    }
    const datamap = node[0] as number;
    const nodemap = node[1] as number;
    const bit = 1 << ((h >>> shift) & MASK);
    if (datamap & bit) {
      const i = HEAD + 2 * popcount(datamap & (bit - 1));
      return node[i] === key ? node[i + 1] : NOT_FOUND;
    }
    if (!(nodemap & bit)) return NOT_FOUND;
    node = node[HEAD + 2 * popcount(datamap) + popcount(nodemap & (bit - 1))] as Node;
  }
}

/** Every entry in trie (hash) order. Explicit stacks rather than nested generators: yield*
 *  costs per level on every item. */
export function* walk<R>(root: Node, f: (key: string, value: unknown) => R): IterableIterator<R> {
  const nodes: Node[] = [root];
  const shifts: number[] = [0];
  for (let node = nodes.pop(); node !== undefined; node = nodes.pop()) {
    const shift = shifts.pop() as number;
    const start = shift > MAX_SHIFT ? 0 : HEAD;
    const end = shift > MAX_SHIFT ? node.length : HEAD + 2 * popcount(node[0] as number);
    for (let i = start; i < end; i += 2) yield f(node[i] as string, node[i + 1]);
    for (let j = node.length - 1; j >= end; j--) {
      nodes.push(node[j] as Node);
      shifts.push(shift + BITS);
    }
  }
}
