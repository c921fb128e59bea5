/**
 * One tier × handler type of a partition's mailbox: a FIFO of ids per client, so that serving
 * clients fairly (weighted round robin) and by deadline (overdue work earliest deadline first) are
 * choices of which client's head goes next, never a change of structure.
 *
 * - Each client with queued work has its own FIFO (client-fifo.ts: a `denque` ring buffer of ids).
 *   FIFO per client within a tier always holds. Ids of payloads that left out of order (cancelled,
 *   evicted, moved) stay as tombstones and are dropped lazily, but every FIFO's head is always live.
 * - The clients with live work form a ring: `current` and `rotate()` walk it in O(1), and each
 *   client FIFO carries a `deficit` counter, which is what deficit round robin needs.
 * - The client FIFOs are also in a heap by when their head was queued (`ClientHeads`), so the
 *   first-queued head is found in O(1) and kept in O(log C) for C clients.
 *
 * Serving order: clients share the tier by deficit round robin (weights from `ClientShares`, O(1)
 * per payload served): the ring's current client is served while its deficit lasts, then the next
 * one gets its quantum. A client that had nothing queued here is fresh: it joins the ring ahead of
 * the clients already waiting (behind other fresh ones, in the order they came) and is served next,
 * as a new flow is in fq_codel: a trickle beside a flood waits for one payload, not a round, and
 * the partition's demand says so, for the pool to grant it first too. Once the first-queued head
 * has waited its tier's `maxWait` it is overdue and goes first (all heads of a tier share one
 * `maxWait`, so the oldest has the earliest deadline), charged to its client's deficit: fairness
 * never holds a payload past its deadline.
 *
 * A client FIFO whose head a rate limit or concurrency key holds is parked (`park`): it leaves the
 * ring and the heap of heads, so nothing of it is served or offered to the pool, and its payloads
 * stay queued, in order, until the partition unparks it. FIFO per client holds through a park.
 */
import type { ClientShares } from '../../src/fairness.ts';
import type { Tier } from '../../src/payload.ts';
import { ClientFifo, ClientHeads, firstFrom, type QueuedRecord } from './client-fifo.ts';

export type { QueuedRecord } from './client-fifo.ts';

/** How many clients `walk` merges exactly. */
const MERGED_CLIENTS = 8;

/** The most ids a retired client FIFO may have held to be kept for the next client (its two buffers: 64 KB at most). */
const SPARE_PEAK = 4_096;

export class TypeQueue<PayloadRecord extends QueuedRecord = QueuedRecord> {
  private readonly clients = new Map<string, ClientFifo<PayloadRecord>>();
  /** The client FIFO used last: a run of one client's payloads skips the Map. */
  private last: ClientFifo<PayloadRecord> | undefined;
  /**
   * A FIFO retired empty, for the next client that arrives (`ClientFifo.reuse`); only one that
   * never held more than `SPARE_PEAK` ids, so a drained backlog's buffers are not kept for good.
   */
  private spare: ClientFifo<PayloadRecord> | undefined;
  /** Client FIFOs with live work, by head age. */
  private readonly heads = new ClientHeads<PayloadRecord>();
  /** The ring's current client (undefined when nothing live is queued). */
  private ring: ClientFifo<PayloadRecord> | undefined;
  /** The fresh client that joined last: the next fresh one joins behind it. */
  private freshTail: ClientFifo<PayloadRecord> | undefined;
  /** Ids held, tombstones included. */
  private held = 0;
  /** Live payloads of parked client FIFOs. */
  private parkedLive = 0;
  /** Pushes so far: each id's place in the order of one FIFO. */
  private pushes = 0;
  /**
   * Journalled partitions: how many of the pushes so far are stored (the entry of the transition
   * that pushed them is). The others were queued last, so they come last in serving order too.
   */
  private confirmed = 0;

  constructor(
    private readonly tier: Tier,
    private readonly records: ReadonlyMap<string, PayloadRecord>,
    private readonly shares: Pick<ClientShares, 'quantumOf'>,
    /** The tier's `maxWait`: a head that waited this long is served before the round robin's. */
    private readonly maxWaitMs: number,
  ) {}

  /** Ids held, tombstones included. */
  get length(): number {
    return this.held;
  }

  /** Live payloads that limits hold (their clients' FIFOs are parked): queued, but not offered. */
  get parked(): number {
    return this.parkedLive;
  }

  /** Clients with live work that may be served. */
  get clientCount(): number {
    return this.heads.size;
  }

  /** The ring's current client, for a round-robin policy; undefined when nothing is queued. */
  get current(): ClientFifo<PayloadRecord> | undefined {
    return this.ring;
  }

  /** Whether the round robin serves a fresh client next (one that had nothing queued here). */
  get freshNext(): boolean {
    return this.ring?.fresh === true;
  }

  /** Moves the ring on to the next client with live work (O(1)) and returns it. */
  rotate(): ClientFifo<PayloadRecord> | undefined {
    if (this.ring) this.ring = this.ring.next;
    return this.ring;
  }

  /** The FIFO of one client, if it has any ids here. */
  clientFifo(clientId: string): ClientFifo<PayloadRecord> | undefined {
    return this.fifoOf(clientId, false);
  }

  /** Pushes so far: the place in the order of the next one. */
  get pushCount(): number {
    return this.pushes;
  }

  /** Ids pushed whose transition's entry is not stored yet (those that left since included). */
  get unconfirmed(): number {
    return this.pushes - this.confirmed;
  }

  /** The first `count` pushes are stored. */
  confirm(count: number): void {
    if (count > this.confirmed) this.confirmed = count;
  }

  /** Whether the next record to serve at `now` was pushed by a transition whose entry is stored. */
  headConfirmed(now: number): boolean {
    const fifo = this.serving(now);
    return fifo !== undefined && fifo.headOrder < this.confirmed;
  }

  /** Appends a queued record at its client's tail. */
  push(record: PayloadRecord): void {
    const fifo = this.fifoOf(record.clientId, true) as ClientFifo<PayloadRecord>;
    fifo.ids.push(record.id);
    if (fifo.ids.length > fifo.peak) fifo.peak = fifo.ids.length;
    fifo.order.push(this.pushes++);
    this.held++;
    if (fifo.parked) {
      fifo.live++;
      this.parkedLive++;
    } else if (fifo.live++ === 0) this.activate(fifo, record, true);
  }

  /** Holds one client's FIFO out of service (a limit holds its head); undefined when it has nothing live here. */
  park(clientId: string): ClientFifo<PayloadRecord> | undefined {
    const fifo = this.fifoOf(clientId, false);
    if (!fifo || fifo.parked || fifo.live === 0) return undefined;
    this.leave(fifo);
    fifo.parked = true;
    this.parkedLive += fifo.live;
    return fifo;
  }

  /** Serves a parked client FIFO again, behind the ring's current client. */
  unpark(clientId: string): void {
    const fifo = this.fifoOf(clientId, false);
    if (!fifo?.parked) return;
    fifo.parked = false;
    this.parkedLive -= fifo.live;
    this.activate(fifo, fifo.head as PayloadRecord, false);
  }

  /** The next record to serve at `now`. */
  peek(now: number): PayloadRecord | undefined {
    return this.serving(now)?.head;
  }

  /** The first-queued live head across clients (what waited longest). */
  get oldest(): PayloadRecord | undefined {
    return this.heads.first?.head;
  }

  /** The oldest head's `enqueuedAt` (the age that aging measures); undefined when empty. */
  get oldestAt(): number | undefined {
    return this.heads.first?.head?.enqueuedAt;
  }

  /** Takes the next record to serve at `now` out of the queue (the caller changes its status). */
  shift(now: number): PayloadRecord | undefined {
    const fifo = this.serving(now);
    if (!fifo) return undefined;
    const record = this.takeHead(fifo);
    // With one client left its FIFO is the order: no deficit to keep (and no weight to look up per payload).
    if (this.heads.size > 1) this.charge(fifo);
    return record;
  }

  /** The client served next: an overdue oldest head, else the round robin's current client. */
  private serving(now: number): ClientFifo<PayloadRecord> | undefined {
    const oldest = this.heads.first;
    if (this.heads.size <= 1) return oldest; // one client: its FIFO is the order
    if (now - (oldest?.head as PayloadRecord).enqueuedAt >= this.maxWaitMs) return oldest;
    return this.ring;
  }

  /** One payload served to `fifo` counts against its deficit; the ring moves on when the current client's is spent. */
  private charge(fifo: ClientFifo<PayloadRecord>): void {
    fifo.deficit--;
    if (fifo === this.ring && fifo.deficit < 1) {
      this.ring = fifo.next;
      this.credit();
    }
  }

  /**
   * Gives the ring's current client its quantum until it may be served (each visit adds ≥ 1, so this
   * ends; a client served out of turn, overdue, pays it back here). O(1) unless deficits went negative.
   */
  private credit(): void {
    for (let fifo = this.ring; fifo && fifo.deficit < 1; fifo = this.ring) {
      fifo.deficit += this.shares.quantumOf(fifo.clientId);
      if (fifo.deficit < 1) this.ring = fifo.next;
    }
  }

  /** Takes the head of one client's FIFO (for a policy that picks the client). */
  takeHead(fifo: ClientFifo<PayloadRecord>): PayloadRecord | undefined {
    const record = fifo.head;
    if (!record || fifo.live === 0) return undefined;
    fifo.ids.shift();
    fifo.order.shift();
    this.held--;
    fifo.live--;
    fifo.fresh = false;
    if (this.freshTail === fifo) this.freshTail = undefined;
    this.settleHead(fifo, undefined);
    return record;
  }

  /**
   * A queued record leaves out of order (cancelled, evicted, moved, rolled back), while its status
   * still says queued: it becomes a tombstone, dropped now if it was its client's head.
   */
  remove(record: PayloadRecord): void {
    const fifo = this.fifoOf(record.clientId, false);
    if (!fifo || fifo.live === 0) return;
    fifo.live--;
    if (fifo.parked) this.parkedLive--;
    if (fifo.ids.peekFront() === record.id) this.settleHead(fifo, record.id);
    else if (fifo.live === 0) this.settleHead(fifo, undefined);
  }

  /**
   * Takes every live record of one client out at once (the client is paused), in its queued order:
   * its FIFO leaves the queue whole, however long it is, and the others are not looked at.
   */
  takeClient(clientId: string): PayloadRecord[] {
    const fifo = this.fifoOf(clientId, false);
    if (!fifo) return [];
    const taken: PayloadRecord[] = [];
    for (let i = 0; i < fifo.ids.length; i++) {
      const record = this.records.get(fifo.ids.peekAt(i) as string);
      if (this.isLive(record)) taken.push(record);
    }
    this.retire(fifo);
    return taken;
  }

  /**
   * Visits live records in serving order, looking at `limit` ids at most (tombstones included),
   * until `visit` returns false; each with its place in the order of pushes. Exact across up to
   * MERGED_CLIENTS clients (a merge of their FIFOs), and then only what was pushed at or after
   * place `from`; beyond that many clients, every client from its front, one after another in heap
   * order, which is close enough for what reads ahead (claims) and keeps the walk O(limit).
   */
  walk(limit: number, visit: (record: PayloadRecord, order: number) => boolean, from = 0): void {
    const heads = this.heads.list;
    if (heads.length > MERGED_CLIENTS) {
      for (const fifo of heads) {
        for (let i = 0; i < fifo.ids.length; i++) {
          if (limit-- <= 0) return;
          const record = this.records.get(fifo.ids.peekAt(i) as string);
          if (this.isLive(record) && !visit(record, fifo.order.peekAt(i) as number)) return;
        }
      }
      return;
    }
    if (heads.length === 1) {
      // One client, the common case: its FIFO is the serving order.
      const fifo = heads[0] as ClientFifo<PayloadRecord>;
      for (let i = firstFrom(fifo, from), n = Math.min(i + limit, fifo.ids.length); i < n; i++) {
        const record = this.records.get(fifo.ids.peekAt(i) as string);
        if (this.isLive(record) && !visit(record, fifo.order.peekAt(i) as number)) return;
      }
      return;
    }
    const at = heads.map((fifo) => firstFrom(fifo, from));
    while (limit-- > 0) {
      let next = -1;
      let nextOrder = Number.POSITIVE_INFINITY;
      for (let c = 0; c < heads.length; c++) {
        const order = (heads[c] as ClientFifo<PayloadRecord>).order.peekAt(at[c] as number);
        if (order !== undefined && order < nextOrder) {
          next = c;
          nextOrder = order;
        }
      }
      if (next < 0) return;
      const fifo = heads[next] as ClientFifo<PayloadRecord>;
      const record = this.records.get(fifo.ids.peekAt((at[next] as number)++) as string);
      if (this.isLive(record) && !visit(record, nextOrder)) return;
    }
  }

  /** Ids of live queued records in serving order (the order of one FIFO), for moves that scan the queue. */
  liveIds(): string[] {
    const entries: Array<{ id: string; order: number }> = [];
    for (const fifo of this.clients.values()) {
      const ids = fifo.ids.toArray();
      const order = fifo.order.toArray();
      ids.forEach((id, i) => {
        if (this.isLive(this.records.get(id))) entries.push({ id, order: order[i] as number });
      });
    }
    return entries.sort((a, b) => a.order - b.order).map((e) => e.id);
  }

  private isLive(record: PayloadRecord | undefined): record is PayloadRecord {
    return record !== undefined && record.status === 'queued' && record.tier === this.tier;
  }

  private fifoOf(clientId: string, create: boolean): ClientFifo<PayloadRecord> | undefined {
    const last = this.last;
    if (last && last.clientId === clientId) return last;
    let fifo = this.clients.get(clientId);
    if (!fifo && create) {
      fifo = this.spare?.reuse(clientId) ?? new ClientFifo<PayloadRecord>(clientId);
      this.spare = undefined;
      this.clients.set(clientId, fifo);
    }
    if (fifo) this.last = fifo;
    return fifo;
  }

  /** Drops dead ids at a client's head (and `removed`, which is leaving); re-keys or retires the client. */
  private settleHead(fifo: ClientFifo<PayloadRecord>, removed: string | undefined): void {
    const { ids } = fifo;
    let record: PayloadRecord | undefined;
    for (let head = ids.peekFront(); head !== undefined; head = ids.peekFront()) {
      record = head === removed ? undefined : this.records.get(head);
      if (this.isLive(record)) break;
      record = undefined;
      ids.shift();
      fifo.order.shift();
      this.held--;
    }
    if (!record || fifo.live === 0) return this.retire(fifo);
    if (record === fifo.head) return; // the head stayed: its key too
    fifo.head = record;
    fifo.headOrder = fifo.order.peekFront() as number;
    // A new head may not be held by what held the old one: it is offered again (and parked again if it is).
    if (fifo.parked) return this.unpark(fifo.clientId);
    this.heads.rekey(fifo);
  }

  /**
   * A client's first live payload (or its FIFO unparked): it joins the heap of heads and the ring.
   * Fresh, it is served next, after the fresh clients already ahead; unparked, it waits a round
   * (just behind `current`).
   */
  private activate(fifo: ClientFifo<PayloadRecord>, head: PayloadRecord, fresh: boolean): void {
    const tail = this.freshTail;
    fifo.head = head;
    fifo.headOrder = fifo.order.peekFront() as number;
    fifo.fresh = fresh;
    this.heads.add(fifo);
    if (fresh) this.freshTail = fifo;
    const current = this.ring;
    if (!current) {
      fifo.next = fifo.prev = fifo;
      this.ring = fifo;
      this.credit();
      return;
    }
    // Fresh: behind the fresh clients ahead (the run from `current` to `freshTail`), or at the
    // front of the round when there are none. Else at the end of the round, just behind `current`.
    const ahead = fresh && tail?.fresh === true && tail.next !== undefined ? tail : undefined;
    const after = ahead ?? (current.prev as ClientFifo<PayloadRecord>);
    const before = after.next as ClientFifo<PayloadRecord>;
    fifo.prev = after;
    fifo.next = before;
    after.next = fifo;
    before.prev = fifo;
    if (fresh && !ahead) {
      this.ring = fifo;
      this.credit();
    }
  }

  /** A client with nothing live left leaves the heap, the ring and the map (its tombstones go with it). */
  private retire(fifo: ClientFifo<PayloadRecord>): void {
    this.held -= fifo.ids.length;
    if (fifo.parked) {
      this.parkedLive -= fifo.live;
      fifo.parked = false;
    }
    // Denque's clear allocates a fresh store: not worth it for a FIFO its last take emptied.
    if (fifo.ids.length > 0) {
      fifo.ids.clear();
      fifo.order.clear();
    }
    fifo.head = undefined;
    fifo.deficit = 0;
    this.leave(fifo);
    this.clients.delete(fifo.clientId);
    if (this.last === fifo) this.last = undefined;
    if (fifo.peak <= SPARE_PEAK) this.spare = fifo;
  }

  /** A client leaves the heap of heads and the ring (retired, or parked). */
  private leave(fifo: ClientFifo<PayloadRecord>): void {
    if (this.freshTail === fifo) this.freshTail = fifo.prev !== fifo && fifo.prev?.fresh ? fifo.prev : undefined;
    fifo.fresh = false;
    this.heads.remove(fifo);
    if (fifo.next) {
      if (fifo.next === fifo) this.ring = undefined;
      else {
        (fifo.prev as ClientFifo<PayloadRecord>).next = fifo.next;
        fifo.next.prev = fifo.prev;
        if (this.ring === fifo) {
          this.ring = fifo.next;
          this.credit();
        }
      }
      fifo.next = fifo.prev = undefined;
    }
  }
}
