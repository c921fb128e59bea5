/**
 * The parts of a tier × handler type queue (mailbox.ts) that hold one client's work: its FIFO of
 * ids with its round-robin state, and the heap of client FIFOs by when their head was queued,
 * which finds the first-queued head of the queue in O(1) and keeps it in O(log C) for C clients.
 */
import Denque from 'denque';
import type { PayloadStatus, Tier } from '../../src/payload.ts';

/** What the mailbox reads of a record (the partition's `PayloadRecord`). */
export interface QueuedRecord {
  readonly id: string;
  readonly clientId: string;
  readonly status: PayloadStatus;
  readonly tier: Tier;
  /** When it entered its tier: the age of the queue's head, which the demand publishes. */
  readonly enqueuedAt: number;
}

/** One client's queued ids in one tier × handler type. */
export class ClientFifo<R extends QueuedRecord = QueuedRecord> {
  readonly ids = new Denque<string>();
  /** When each id was queued (the queue's push count), beside `ids`. */
  readonly order = new Denque<number>();
  /** The record of the id at the front, always live (undefined when none is). */
  head: R | undefined = undefined;
  /** Queued payloads of this client that are still live (tombstones excluded). */
  live = 0;
  /** For a deficit round robin: service this client may still take in the current round. */
  deficit = 0;
  /** Neighbours in the ring of clients with live work (itself when alone; undefined when out of it). */
  next: ClientFifo<R> | undefined = undefined;
  prev: ClientFifo<R> | undefined = undefined;
  /** Place in the heap of heads (-1: not in it), and when its head was queued. */
  heapAt = -1;
  headOrder = 0;
  /** Held by a limit: out of the ring and the heap, its live payloads counted in `parked`. */
  parked = false;
  /** Joined with nothing queued here before and not served since (mailbox.ts: served next). */
  fresh = false;
  /** The most ids it has held, whichever client it served: its ring buffers' room never falls below it. */
  peak = 0;
  constructor(public clientId: string) {}

  /**
   * The FIFO, retired empty, serves another client (or the same one again): its ring buffers keep
   * the room they grew, so a queue that empties and fills with every wave does not grow two new
   * ones from four places each time.
   */
  reuse(clientId: string): this {
    this.clientId = clientId;
    this.head = undefined;
    this.live = 0;
    this.deficit = 0;
    this.next = this.prev = undefined;
    this.heapAt = -1;
    this.headOrder = 0;
    this.parked = false;
    this.fresh = false;
    return this;
  }
}

/** Client FIFOs with live work, by when their head was queued (first-queued first). */
export class ClientHeads<R extends QueuedRecord> {
  private readonly items: ClientFifo<R>[] = [];

  /** The FIFOs, heap order (the first is the first-queued head's). */
  get list(): readonly ClientFifo<R>[] {
    return this.items;
  }

  get size(): number {
    return this.items.length;
  }

  get first(): ClientFifo<R> | undefined {
    return this.items[0];
  }

  add(fifo: ClientFifo<R>): void {
    fifo.heapAt = this.items.length;
    this.items.push(fifo);
    this.up(fifo.heapAt);
  }

  remove(fifo: ClientFifo<R>): void {
    const at = fifo.heapAt;
    if (at < 0) return;
    const last = this.items.pop() as ClientFifo<R>;
    if (last !== fifo) {
      this.items[at] = last;
      last.heapAt = at;
      this.down(at);
      this.up(last.heapAt);
    }
    fifo.heapAt = -1;
  }

  /** Its head changed: it moves to its new place. */
  rekey(fifo: ClientFifo<R>): void {
    this.down(fifo.heapAt);
    this.up(fifo.heapAt);
  }

  private up(at: number): void {
    const items = this.items;
    const fifo = items[at] as ClientFifo<R>;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as ClientFifo<R>;
      if (parent.headOrder <= fifo.headOrder) break;
      items[at] = parent;
      parent.heapAt = at;
      at = parentAt;
    }
    items[at] = fifo;
    fifo.heapAt = at;
  }

  private down(at: number): void {
    const items = this.items;
    const n = items.length;
    const fifo = items[at] as ClientFifo<R>;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && (items[child + 1] as ClientFifo<R>).headOrder < (items[child] as ClientFifo<R>).headOrder) child++;
      const next = items[child] as ClientFifo<R>;
      if (next.headOrder >= fifo.headOrder) break;
      items[at] = next;
      next.heapAt = at;
      at = child;
    }
    items[at] = fifo;
    fifo.heapAt = at;
  }
}

/** Index of the first id of the FIFO pushed at or after place `from` (places increase along a FIFO). */
export function firstFrom(fifo: ClientFifo, from: number): number {
  const { order } = fifo;
  if (from <= 0 || (order.peekFront() ?? from) >= from) return 0;
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((order.peekAt(mid) as number) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
