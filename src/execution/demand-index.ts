/**
 * The pool's index of waiting work, so a grant is decided in O(log P) rather than by scanning every
 * partition's demand. Each demand entry with payloads not yet granted sits in one binary heap per
 * (serveAs tier, yielding), ordered by `oldestAt` to a grain (below): within one such heap urgency
 * only grows with the wait (see aging.ts), so the heads — at most eight — are the only entries a
 * pump needs to score (an older entry in the head's grain is at most one grain older).
 * It also keeps what is granted but not yet taken (outstanding), which decides what is still
 * available to grant.
 */
import { TIER_RANK, TIERS, type Tier } from '../payload.ts';
import type { ClientClock } from './client-clock.ts';
import { FairOrder } from './fair-order.ts';
import type { DemandEntry } from './protocol.ts';

/** One partition's demand entry, as indexed. */
export interface IndexedDemand {
  readonly partition: number;
  /** Its place in the partition's demand (a tie-break, as the partition listed it). */
  readonly position: number;
  entry: DemandEntry;
  /** Which heap holds it (-1: none), where in it, and the grain of `oldestAt` it is ordered by there. */
  heap: number;
  at: number;
  key: number;
  /** Taken out by the pump under way: it goes back once the pump ends, not before. */
  held: boolean;
  /** When it was last granted (a count of grants): of entries as old, the one granted longest ago goes first. */
  grantedAt: number;
  /** Counted among its heap's entries with work of several clients. */
  shared: boolean;
  /** In its heap's set of fresh entries (its entry's `fresh`, unless that entry was passed over). */
  fresh: boolean;
  /** The entry whose `fresh` was passed over (the head's own client refilling): not fresh until the next. */
  passedOver: DemandEntry | undefined;
  /** Its place in its heap's fair order, the client it is counted under there, and that client's tag as last read. */
  fairAt: number;
  client: string | undefined;
  tag: number;
  /** Counted under `client` in its heap's clients. */
  counted: boolean;
  removed: boolean;
}

const HEAPS = TIERS.length * 2;
const TIER_INDEX: Readonly<Record<Tier, number>> = { critical: 0, high: 1, medium: 2, low: 3 };
const heapOf = (entry: DemandEntry): number => TIER_INDEX[entry.serveAs] * 2 + (entry.yielding ? 1 : 0);
/** The tier a heap serves as. */
export const tierOfHeap = (heap: number): Tier => TIERS[heap >> 1] as Tier;
export const HEAP_COUNT = HEAPS;

/**
 * Heads of a tier queued within this share of its `maxWait` of each other count as equally old
 * across partitions (1%: 300 ms of medium's default 30 s, 10 ms of critical's 1 s). A flood is taken
 * in by its partitions over many ms (a `submitMany` goes out in slices over turns); served strictly
 * by age, the partition that took its share first would be drained first, and a client whose
 * payload hashed to a partition that took the flood later would wait behind every earlier
 * partition's share. Within one grain, partitions take turns instead.
 */
export const AGE_GRAIN_SHARE = 0.01;

/**
 * Oldest first (by the heap's age grain). Of equally old heads: work of its own tier before work served as
 * it (elevated), then the one granted longest ago, so partitions take turns: a grant takes every
 * slot its queue can use, and each partition's fair sharing between clients reaches a client only
 * when its partition is granted. Fairness between clients picks apart from this order: `freshBefore`
 * and `fairHead`.
 */
const before = (a: IndexedDemand, b: IndexedDemand): boolean => {
  if (a.key !== b.key) return a.key < b.key;
  const rankA = TIER_RANK[a.entry.tier];
  const rankB = TIER_RANK[b.entry.tier];
  if (rankA !== rankB) return rankA > rankB;
  if (a.grantedAt !== b.grantedAt) return a.grantedAt < b.grantedAt;
  return a.partition < b.partition || (a.partition === b.partition && a.position < b.position);
};

export class DemandIndex {
  private readonly byPartition: IndexedDemand[][];
  private readonly heaps: IndexedDemand[][] = Array.from({ length: HEAPS }, () => []);
  /** Granted but not yet taken by the partition, by partition, tier and handler type. */
  private readonly outstanding: Array<Record<Tier, Map<string, number>> | undefined> = [];
  private readonly held: IndexedDemand[] = [];
  private grants = 0;
  /** Per heap, its entries holding work of several clients. */
  private readonly sharedIn = new Array<number>(HEAPS).fill(0);
  /** Per heap, its entries by how little their next client was granted (with a client clock). */
  private readonly fairOrder: FairOrder<IndexedDemand> | undefined;
  /** Per heap, its entries whose next payload is a fresh client's, in the order they became so. */
  private readonly freshIn: Array<Set<IndexedDemand>> = Array.from({ length: HEAPS }, () => new Set());

  /** Each heap's age grain, ms (`AGE_GRAIN_SHARE` of its tier's maxWait). */
  private readonly grains: number[];

  constructor(partitions: number, maxWait: Readonly<Record<Tier, number>>, clock?: ClientClock) {
    this.fairOrder = clock ? new FairOrder(HEAPS, clock, before) : undefined;
    this.byPartition = Array.from({ length: partitions }, () => []);
    this.grains = Array.from({ length: HEAPS }, (_, heap) => Math.max(1e-6, maxWait[tierOfHeap(heap)] * AGE_GRAIN_SHARE));
  }

  /** A partition's current demand, replacing the previous one. */
  set(partition: number, entries: readonly DemandEntry[]): void {
    const old = this.byPartition[partition] as IndexedDemand[];
    const next = old.length === entries.length ? old : new Array<IndexedDemand>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as DemandEntry;
      let indexed = old[i];
      if (indexed && indexed.entry.tier === entry.tier && indexed.entry.handlerType === entry.handlerType) {
        indexed.entry = entry;
      } else {
        if (indexed) this.drop(indexed);
        indexed = { partition, position: i, entry, heap: -1, at: -1, key: 0, held: false, removed: false, grantedAt: 0, shared: false, fresh: false, passedOver: undefined, fairAt: -1, client: undefined, tag: 0, counted: false };
      }
      next[i] = indexed;
      this.place(indexed);
    }
    for (let i = entries.length; i < old.length; i++) this.drop(old[i] as IndexedDemand);
    this.byPartition[partition] = next;
  }

  /** Every entry indexed now, with payloads not yet granted or not (for views; a pump reads the heads). */
  *entries(): IterableIterator<IndexedDemand> {
    for (const list of this.byPartition) yield* list;
  }

  /** Whether the partition has any demand now. */
  has(partition: number): boolean {
    return (this.byPartition[partition] as IndexedDemand[]).length > 0;
  }

  /** The partition left: its demand and outstanding grants are forgotten. */
  clear(partition: number): void {
    for (const indexed of this.byPartition[partition] as IndexedDemand[]) this.drop(indexed);
    this.byPartition[partition] = [];
    this.outstanding[partition] = undefined;
  }

  /** Payloads of the entry not yet granted. */
  available(indexed: IndexedDemand): number {
    const { tier, handlerType, count } = indexed.entry;
    return count - (this.outstanding[indexed.partition]?.[tier].get(handlerType) ?? 0);
  }

  addOutstanding(partition: number, tier: Tier, handlerType: string, delta: number): void {
    let byTier = this.outstanding[partition];
    if (!byTier) this.outstanding[partition] = byTier = { critical: new Map(), high: new Map(), medium: new Map(), low: new Map() };
    const left = (byTier[tier].get(handlerType) ?? 0) + delta;
    if (left > 0) byTier[tier].set(handlerType, left);
    else byTier[tier].delete(handlerType);
    for (const indexed of this.byPartition[partition] ?? []) {
      if (indexed.entry.tier === tier && indexed.entry.handlerType === handlerType) this.place(indexed);
    }
  }

  /** The head of one heap (its most urgent entry), or undefined. */
  head(heap: number): IndexedDemand | undefined {
    return this.heaps[heap]?.[0];
  }

  /**
   * The entry of the heap to serve before its head for fairness: the first to become fresh (its
   * next payload is a fresh client's, one that had nothing queued in its partition) of a client
   * other than the head's next. A client alone in its partition counts too: with a flood sharded to
   * one partition (`shardKey` per client), another client's trickle lands in partitions of its own,
   * younger than the flood. A fresh entry of the head's own client is that client refilling a
   * partition, not a new flow (a single producer's partitions all refill): it is passed over until
   * its partition publishes new demand, so each is looked at once.
   */
  freshBefore(heap: number, head: IndexedDemand): IndexedDemand | undefined {
    const set = this.freshIn[heap] as Set<IndexedDemand>;
    for (const fresh of set) {
      if (fresh.entry.nextClient !== head.entry.nextClient) return fresh;
      fresh.passedOver = fresh.entry;
      fresh.fresh = false;
      set.delete(fresh);
    }
    return undefined;
  }

  /**
   * Whether picks of this heap head should leave slots to its peers: another entry of its heap is as
   * old (the same grain), and some entry there holds work of several clients — a client whose
   * partition's turn comes later is then waiting behind another's flood. With one client everywhere
   * (a single producer), order between partitions serves no one, and whole grants cost least.
   */
  hasPeer(indexed: IndexedDemand): boolean {
    const list = this.heaps[indexed.heap];
    if (!list || list.length < 2 || list[0] !== indexed || this.sharedIn[indexed.heap] === 0) return false;
    const left = list[1] as IndexedDemand;
    const right = list[2];
    return (right && before(right, left) ? right : left).key === indexed.key;
  }

  /** The entry was granted slots: of equally old entries, it goes after the others next time. */
  granted(indexed: IndexedDemand): void {
    indexed.grantedAt = ++this.grants;
  }

  /** Takes a head out for the pump under way; `restoreHeld` puts it back where it belongs. */
  hold(indexed: IndexedDemand): void {
    this.remove(indexed);
    indexed.held = true;
    this.held.push(indexed);
  }

  restoreHeld(): void {
    for (const indexed of this.held) {
      indexed.held = false;
      this.place(indexed);
    }
    this.held.length = 0;
  }

  /** Puts the entry in the heap it belongs to now (none when nothing of it is left to grant). */
  private place(indexed: IndexedDemand): void {
    if (indexed.removed || indexed.held) return;
    const heap = this.available(indexed) > 0 ? heapOf(indexed.entry) : -1;
    const key = heap < 0 ? 0 : Math.floor(indexed.entry.oldestAt / (this.grains[heap] as number));
    if (heap === indexed.heap && indexed.key === key) {
      this.countFresh(indexed);
      if (heap >= 0 && indexed.client !== indexed.entry.nextClient) {
        this.fairOrder?.remove(indexed);
        this.fairOrder?.add(indexed);
      }
      return this.countShared(indexed);
    }
    this.remove(indexed);
    if (heap < 0) return;
    const list = this.heaps[heap] as IndexedDemand[];
    indexed.heap = heap;
    indexed.key = key;
    indexed.at = list.length;
    list.push(indexed);
    this.countShared(indexed);
    this.countFresh(indexed);
    this.up(list, indexed.at);
    this.fairOrder?.add(indexed);
  }

  /**
   * The entry of the heap whose next client was granted least (fair-order.ts); undefined when the
   * heap's entries serve fewer than two clients next, where the age order is the fair one.
   */
  fairHead(heap: number): IndexedDemand | undefined {
    return this.fairOrder?.head(heap, this.heaps[heap] as IndexedDemand[]);
  }

  /** The share of the free slots `indexed`'s next client may take now, by weight. */
  fairShare(heap: number, indexed: IndexedDemand): number {
    return this.fairOrder?.share(heap, indexed) ?? 1;
  }

  /** Keeps its heap's set of fresh entries true to its entry. */
  private countFresh(indexed: IndexedDemand): void {
    const fresh = indexed.heap >= 0 && indexed.entry.fresh === true && indexed.entry !== indexed.passedOver;
    if (fresh === indexed.fresh) return;
    indexed.fresh = fresh;
    const set = this.freshIn[indexed.heap] as Set<IndexedDemand>;
    if (fresh) set.add(indexed);
    else set.delete(indexed);
  }

  /** Keeps its heap's count of entries with several clients true to its entry. */
  private countShared(indexed: IndexedDemand): void {
    const shared = indexed.heap >= 0 && (indexed.entry.clients ?? 1) > 1;
    if (shared === indexed.shared) return;
    indexed.shared = shared;
    this.sharedIn[indexed.heap] = (this.sharedIn[indexed.heap] as number) + (shared ? 1 : -1);
  }

  private drop(indexed: IndexedDemand): void {
    this.remove(indexed);
    indexed.removed = true;
  }

  private remove(indexed: IndexedDemand): void {
    if (indexed.heap < 0) return;
    const list = this.heaps[indexed.heap] as IndexedDemand[];
    if (indexed.shared) {
      indexed.shared = false;
      this.sharedIn[indexed.heap] = (this.sharedIn[indexed.heap] as number) - 1;
    }
    if (indexed.fresh) {
      indexed.fresh = false;
      (this.freshIn[indexed.heap] as Set<IndexedDemand>).delete(indexed);
    }
    this.fairOrder?.remove(indexed);
    const at = indexed.at;
    const last = list.pop() as IndexedDemand;
    indexed.heap = -1;
    indexed.at = -1;
    if (last === indexed) return;
    list[at] = last;
    last.at = at;
    this.down(list, at);
    this.up(list, last.at);
  }

  private up(list: IndexedDemand[], at: number): void {
    const item = list[at] as IndexedDemand;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = list[parentAt] as IndexedDemand;
      if (!before(item, parent)) break;
      list[at] = parent;
      parent.at = at;
      at = parentAt;
    }
    list[at] = item;
    item.at = at;
  }

  private down(list: IndexedDemand[], at: number): void {
    const item = list[at] as IndexedDemand;
    const n = list.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(list[right] as IndexedDemand, list[child] as IndexedDemand)) child = right;
      const next = list[child] as IndexedDemand;
      if (!before(next, item)) break;
      list[at] = next;
      next.at = at;
      at = child;
    }
    list[at] = item;
    item.at = at;
  }
}
