/**
 * Persistent string-keyed map over the hash trie in pmap-nodes.ts. Every update path-copies at
 * most ~7 small arrays and returns a new PMap; nodes reachable from a PMap are never mutated, so
 * old versions stay valid. For many writes of which only the final map is kept, use
 * `asTransient()`: it edits its own copies in place instead of copying the path on every write.
 * It is a plain class (no immer `[immerable]`), so immer treats it as an opaque value.
 */
import { EMPTY_ROOT, NOT_FOUND, deleteIn, lastWriteResized, lookup, setIn, walk, type Node, type Owner } from './pmap-nodes.ts';

export { hashString } from './pmap-nodes.ts';

/** TransientPMap's way into PMap's private constructor and root, without making them public. */
let makePMap: <V>(root: Node, size: number) => PMap<V>;
let rootOf: (map: PMap<unknown>) => Node;

export class PMap<V> {
  private static readonly EMPTY = new PMap<never>(EMPTY_ROOT, 0);

  static {
    makePMap = <V>(root: Node, size: number): PMap<V> =>
      size === 0 ? PMap.empty<V>() : new PMap<V>(root, size);
    rootOf = (map) => map.root;
  }

  private constructor(
    private readonly root: Node,
    readonly size: number,
  ) {}

  static empty<V>(): PMap<V> {
    return PMap.EMPTY as PMap<V>;
  }

  static fromEntries<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    const map = PMap.empty<V>().asTransient();
    for (const [k, v] of entries) map.set(k, v);
    return map.persistent();
  }

  get(key: string): V | undefined {
    const v = lookup(this.root, key);
    return v === NOT_FOUND ? undefined : (v as V);
  }

  has(key: string): boolean {
    return lookup(this.root, key) !== NOT_FOUND;
  }

  /** Returns `this` when `key` already maps to an identical (Object.is) value. */
  set(key: string, value: V): PMap<V> {
    const root = setIn(this.root, key, value, null);
    return root === this.root ? this : new PMap(root, lastWriteResized() ? this.size + 1 : this.size);
  }

  /** Returns `this` when `key` is absent. */
  delete(key: string): PMap<V> {
    const root = deleteIn(this.root, key, null);
    if (root === this.root) return this;
    return this.size === 1 ? PMap.empty<V>() : new PMap(root, this.size - 1);
  }

  /**
   * A mutable draft starting from this map, for a batch of writes whose intermediate maps nobody
   * needs. This map is unaffected by anything done through the draft.
   */
  asTransient(): TransientPMap<V> {
    return new TransientPMap(this, this.root, this.size);
  }

  /** Iteration order is the trie's (hash) order: stable for a given key set, not insertion order. */
  entries(): IterableIterator<[string, V]> {
    return walk(this.root, (k, v): [string, V] => [k, v as V]);
  }

  keys(): IterableIterator<string> {
    return walk(this.root, (k) => k);
  }

  values(): IterableIterator<V> {
    return walk(this.root, (_k, v) => v as V);
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

/**
 * A batch-mutation handle on a PMap (Clojure's transients, Immutable.js's `withMutations`). The
 * first write to a node copies it as PMap.set would and stamps the copy with this transient's
 * token; later writes edit stamped nodes in place, so k writes cost about one path copy plus the
 * nodes they actually touch instead of k full path copies. Nodes shared with any PMap are never
 * written. `persistent()` hands the result over as a PMap in O(1) and ends the transient; every
 * later call on it throws. Obtain one with `PMap#asTransient()`.
 */
export class TransientPMap<V> {
  /**
   * Identity token stamped into the nodes this transient built; null once it is persistent. The
   * transient is its own token (saves an allocation per batch): nodes built here keep this object
   * alive, which is why persistent() also drops `root` and `base`.
   */
  private owner: Owner = this;
  private count: number;

  /** @internal Use `PMap#asTransient()`. */
  constructor(
    private base: PMap<V> | null,
    private root: Node,
    size: number,
  ) {
    this.count = size;
  }

  get size(): number {
    this.live();
    return this.count;
  }

  get(key: string): V | undefined {
    const v = lookup(this.live(), key);
    return v === NOT_FOUND ? undefined : (v as V);
  }

  has(key: string): boolean {
    return lookup(this.live(), key) !== NOT_FOUND;
  }

  set(key: string, value: V): void {
    this.root = setIn(this.live(), key, value, this.owner);
    if (lastWriteResized()) this.count++;
  }

  delete(key: string): void {
    this.root = deleteIn(this.live(), key, this.owner);
    if (lastWriteResized()) this.count--;
  }

  /**
   * The current contents as an ordinary PMap (the starting map itself if nothing changed). O(1):
   * dropping the token is what freezes the nodes stamped with it, since only this transient could
   * edit them and it refuses all further calls.
   */
  persistent(): PMap<V> {
    const root = this.live();
    const base = this.base as PMap<V>;
    this.owner = null;
    // Nodes of the result point at this object (their owner token): it must not pin any map.
    this.root = EMPTY_ROOT;
    this.base = null;
    return root === rootOf(base) ? base : makePMap<V>(root, this.count);
  }

  /** The root, or a throw once persistent() has been called. */
  private live(): Node {
    if (this.owner === null) {
      throw new Error('TransientPMap: already made persistent; call asTransient() on the map for a new one');
    }
    return this.root;
  }
}
