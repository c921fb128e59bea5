/**
 * The demand index's order by fairness between clients (demand-index.ts, client-clock.ts): per
 * heap, a second binary heap of its entries by their next client's tag, then as the age order. Tags
 * only grow, so it is re-keyed lazily: a top whose tag is current is the least. With one client next
 * in a heap (a single producer) only the count of clients is kept; the second client's entry starts
 * the order from the heap's entries (O(n), once).
 */
import type { ClientClock } from './client-clock.ts';

/** What the order keeps on each entry (an `IndexedDemand`). */
export interface FairItem {
  readonly heap: number;
  readonly entry: { readonly nextClient?: string };
  /** Place in its heap's fair order (-1: not in it), the client it is counted under, its tag as last read. */
  fairAt: number;
  client: string | undefined;
  tag: number;
  counted: boolean;
}

export class FairOrder<T extends FairItem> {
  private readonly lists: T[][];
  /** Per heap, how many entries each next client has there. */
  private readonly clientsIn: Array<Map<string, number>>;

  constructor(
    heaps: number,
    private readonly clock: ClientClock,
    /** The age order, for entries whose clients' tags are equal. */
    private readonly older: (a: T, b: T) => boolean,
  ) {
    this.lists = Array.from({ length: heaps }, () => []);
    this.clientsIn = Array.from({ length: heaps }, () => new Map());
  }

  /** The least-served client's entry of the heap (`heapItems`: its entries), or undefined with fewer than two clients. */
  head(heap: number, heapItems: readonly T[]): T | undefined {
    if ((this.clientsIn[heap] as Map<string, number>).size < 2) return undefined;
    const list = this.lists[heap] as T[];
    if (list.length !== heapItems.length) this.rebuild(list, heapItems);
    for (let top = list[0]; top; top = list[0]) {
      const tag = this.clock.tag(top.client);
      if (tag <= top.tag) return top;
      top.tag = tag;
      this.down(list, 0);
    }
    return undefined;
  }

  /** The share of the heap's next clients, by weight, that `item`'s may take. */
  share(heap: number, item: T): number {
    return this.clock.shareOf(item.client, (this.clientsIn[heap] as Map<string, number>).keys());
  }

  /** The entry entered its heap (or its next client changed: remove, then add). */
  add(item: T): void {
    const client = item.entry.nextClient;
    const counts = this.clientsIn[item.heap] as Map<string, number>;
    if (client !== undefined) counts.set(client, (counts.get(client) ?? 0) + 1);
    item.client = client;
    item.counted = true;
    if (counts.size >= 2) this.push(this.lists[item.heap] as T[], item);
  }

  remove(item: T): void {
    if (!item.counted) return;
    const { client } = item;
    const counts = this.clientsIn[item.heap] as Map<string, number>;
    if (client !== undefined) {
      const left = (counts.get(client) ?? 1) - 1;
      if (left > 0) counts.set(client, left);
      else counts.delete(client);
    }
    item.counted = false;
    item.client = undefined;
    if (item.fairAt < 0) return;
    const list = this.lists[item.heap] as T[];
    const at = item.fairAt;
    const last = list.pop() as T;
    item.fairAt = -1;
    if (last === item) return;
    list[at] = last;
    last.fairAt = at;
    this.down(list, at);
    this.up(list, last.fairAt);
  }

  private rebuild(list: T[], heapItems: readonly T[]): void {
    for (const item of list) item.fairAt = -1;
    list.length = 0;
    for (const item of heapItems) this.push(list, item);
  }

  private push(list: T[], item: T): void {
    item.tag = this.clock.tag(item.client);
    item.fairAt = list.length;
    list.push(item);
    this.up(list, item.fairAt);
  }

  private before(a: T, b: T): boolean {
    return a.tag !== b.tag ? a.tag < b.tag : this.older(a, b);
  }

  private up(list: T[], at: number): void {
    const item = list[at] as T;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = list[parentAt] as T;
      if (!this.before(item, parent)) break;
      list[at] = parent;
      parent.fairAt = at;
      at = parentAt;
    }
    list[at] = item;
    item.fairAt = at;
  }

  private down(list: T[], at: number): void {
    const item = list[at] as T;
    const n = list.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && this.before(list[right] as T, list[child] as T)) child = right;
      const next = list[child] as T;
      if (!this.before(next, item)) break;
      list[at] = next;
      next.fairAt = at;
      at = child;
    }
    list[at] = item;
    item.fairAt = at;
  }
}
