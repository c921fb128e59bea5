/**
 * The execution pool: the effect edge where handlers run. It owns the slots (how many, which tiers
 * may use the reserved share, per-type limits, the low-tier throttle and slot share), decides which
 * partition's work gets a free slot (highest urgency first, so aging holds across partitions), and
 * hands grants to the partitions. Running the handlers is runner.ts; handler code never runs inside
 * an actor function.
 */
import type { TimerHandle } from '../clock.ts';
import { tierSlotLimit } from '../options.ts';
import { TIER_RANK, TIERS, type Tier } from '../payload.ts';
import { urgency } from './aging.ts';
import { ClientClock } from './client-clock.ts';
import { DemandIndex, HEAP_COUNT, tierOfHeap, type IndexedDemand } from './demand-index.ts';
import { heldByScope, heldByTier, type LimitedDemand } from './held-by-limits.ts';
import type { PoolHost, PoolStats } from './pool-host.ts';
import { RunMeter, type CostSums } from './meter.ts';
import type { DemandEntry, Grant, RunOrder } from './protocol.ts';
import { Runner } from './runner.ts';
import { SlotTable, type SlotStats } from './slots.ts';
import { StartThrottle } from './throttle.ts';

export class ExecutionPool {
  private size: number;
  private busy = 0;
  private readonly busyByTier: Record<Tier, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  private readonly busyByTypeCounts = new Map<string, number>();
  /** Waiting work by urgency, and what is granted but not yet taken. */
  private readonly demand: DemandIndex;
  /** What each client was granted, for fairness between clients across partitions. */
  private readonly clients: ClientClock;
  /** Grants of the pump under way, by partition, and the partitions in the order they got one. */
  private readonly granted: Array<Grant[] | undefined> = [];
  private readonly grantedTo: number[] = [];
  /** The grants themselves, by partition: their slots come back if the partition leaves before taking them. */
  private readonly unacknowledged: Array<Set<Grant> | undefined> = [];
  private pumpQueued = false;
  private pumpSoon = false;
  private readonly lowerTiers: ReadonlySet<Tier>;
  private readonly runner: Runner;
  private readonly slots = new SlotTable();
  private readonly meter: RunMeter;
  private readonly lowThrottle: StartThrottle;
  private lowShare = 1;
  /** One clock timer for the earliest moment a pump could grant more (a throttle refill, a batch's wait). */
  private wake: { at: number; timer: TimerHandle } | undefined;
  private readonly unwatchLimits: () => void;

  constructor(private readonly host: PoolHost) {
    const { options } = host;
    this.size = options.concurrency;
    this.clients = new ClientClock((clientId) => options.fairness.quantumOf(clientId));
    this.demand = new DemandIndex(options.partitions, options.maxWait, this.clients);
    this.lowerTiers = new Set(TIERS.slice(TIERS.indexOf(options.reservedFor) + 1));
    const complexity = options.coordination.complexity;
    this.meter = new RunMeter(complexity ? host.costSource : undefined, complexity ? complexity.sampleEvery : 1);
    this.lowThrottle = new StartThrottle(options.coordination.throttleLow, host.clock.now());
    // New limits may let waiting work start (or hold what would have): the next pump reads them.
    this.unwatchLimits = options.limits.onChange(() => this.schedulePump());
    this.runner = new Runner({
      clock: host.clock,
      logger: host.logger,
      meter: this.meter,
      slots: this.slots,
      stuckGraceMs: options.coordination.pool.stuckGraceMs,
      handlerOf: (type) => host.handlerOf(type),
      partitions: host.partitions,
      free: (tier, type, count) => this.free(tier, type, count),
      onStuck: (report) => host.onStuck?.(report),
    });
  }

  stats(): PoolStats {
    return {
      size: this.size,
      busy: this.busy,
      running: this.runner.runningCount,
      byTier: { ...this.busyByTier },
      stuck: this.slots.stuck,
      stuckNow: this.slots.stuckNow,
      meanRunMs: this.meter.meanRunMs,
      lowThrottle: this.lowThrottle.perSecond,
      lowShare: this.lowShare,
      held: this.heldByTier(),
    };
  }

  /** Every slot with its counters and state. */
  slotStats(): SlotStats[] {
    return this.slots.stats();
  }

  /** Slots busy per handler type. */
  busyByType(): ReadonlyMap<string, number> {
    return this.busyByTypeCounts;
  }

  private heldByTier(): Record<Tier, number> | undefined {
    return heldByTier(this.limitedDemand());
  }

  /** Waiting payloads the global and per-type limits hold now, by the limit's scope (`global`, `type:<t>`). */
  heldByLimits(): Map<string, number> {
    return heldByScope(this.limitedDemand());
  }

  private limitedDemand(): LimitedDemand {
    return { demand: this.demand, limits: this.host.options.limits, busy: this.busy, busyByType: this.busyByTypeCounts, now: this.host.clock.now() };
  }

  /** Slots busy now (granted or running). */
  get currentBusy(): number {
    return this.busy;
  }

  get currentSize(): number {
    return this.size;
  }

  /** Costs measured since the last call, per client and type (for the complexity analyzer). */
  drainCosts(): CostSums[] {
    return this.meter.drain();
  }

  /** Changes the number of slots; running work is never interrupted by a shrink. */
  resize(size: number): void {
    this.size = Math.max(1, Math.floor(size));
    this.slots.trim(this.size);
    this.schedulePump();
  }

  /** Most low-tier starts per second; undefined lifts the limit. Takes effect at the next grant. */
  setLowThrottle(perSecond: number | undefined): void {
    this.lowThrottle.set(perSecond, this.host.clock.now());
    this.schedulePump();
  }

  /** Share (0–1) of the slots the low tier may occupy. */
  setLowShare(share: number): void {
    this.lowShare = Math.min(1, Math.max(0, share));
    this.schedulePump();
  }

  /** A pause was lifted: what it held may be granted now. */
  pausesChanged(): void {
    this.schedulePump();
  }

  /** A partition's current demand, replacing the previous one. */
  setDemand(partition: number, entries: readonly DemandEntry[]): void {
    const fresh = !this.demand.has(partition);
    this.demand.set(partition, entries);
    // Work arriving at an idle partition is served in this turn; changes to demand already known
    // join the next coalesced pump.
    if (entries.length > 0) this.schedulePump(fresh);
  }

  /** The partition has processed these grants (started what it could and released the rest). */
  acknowledge(partition: number, grants: readonly Grant[]): void {
    const sent = this.unacknowledged[partition];
    for (const g of grants) {
      if (!sent?.delete(g)) continue; // reclaimed already: the partition left
      this.demand.addOutstanding(partition, g.tier, g.handlerType, -g.count);
    }
  }

  /**
   * The partition left this process (handed over or its lease lost): the slots of grants it had not
   * taken yet come back. Its actor performs nothing of what it still processes, so none is used twice.
   */
  reclaim(partition: number): void {
    const sent = this.unacknowledged[partition];
    this.unacknowledged[partition] = undefined;
    this.demand.clear(partition);
    if (!sent) return;
    for (const g of sent) this.free(g.serveAs ?? g.tier, g.handlerType, g.batch ? 1 : g.count);
  }

  /** Slots granted that the partition could not use (its payloads were cancelled meanwhile). */
  release(tier: Tier, handlerType: string, count: number): void {
    this.free(tier, handlerType, count);
  }

  /** Runs an attempt in a slot already held by its grant; starts after the current actor turn. */
  start(order: RunOrder): void {
    this.runner.start(order);
  }

  /** Stops a running attempt (cancellation): its signal fires and its slot is freed now. */
  abort(id: string, reason: string): void {
    this.runner.abort(id, reason);
  }

  /** Aborts everything running (stop without drain). */
  abortAll(reason: string): void {
    this.runner.abortAll(reason);
  }

  /** Stops the pool's own timer (the runtime is stopping). */
  dispose(): void {
    this.unwatchLimits();
    this.wake?.timer.cancel();
    this.wake = undefined;
  }

  get runningCount(): number {
    return this.runner.runningCount;
  }

  /** The attempts whose handlers run now: the same truth as `stats().running`. */
  runningNow(): ReturnType<Runner['runningNow']> {
    return this.runner.runningNow();
  }

  private free(tier: Tier, handlerType: string, count: number): void {
    this.busy -= count;
    this.busyByTier[tier] -= count;
    this.busyByTypeCounts.set(handlerType, (this.busyByTypeCounts.get(handlerType) ?? count) - count);
    this.schedulePump();
  }

  /**
   * One pump per turn of the event loop, after the partitions' turns of this one: slots freed by
   * many completions go out as a few large grants. A pump per microtask would hand each freed slot
   * out alone, and every small grant costs its partition a turn of its own.
   */
  private schedulePump(soon = false): void {
    if (soon && !this.pumpSoon) {
      this.pumpSoon = true;
      queueMicrotask(() => {
        this.pumpSoon = false;
        this.pump();
      });
    }
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    setImmediate(() => {
      this.pumpQueued = false;
      this.pump();
    });
  }

  /** A pump is scheduled and has not run yet (the runtime is not idle). */
  get pumping(): boolean {
    return this.pumpQueued || this.pumpSoon;
  }

  /** Pumps again at `at` (the earliest such moment wins). */
  private wakeAt(at: number): void {
    if (this.wake && this.wake.at <= at) return;
    this.wake?.timer.cancel();
    const timer = this.host.clock.setTimer(at - this.host.clock.now(), () => {
      this.wake = undefined;
      this.schedulePump();
    });
    this.wake = { at, timer };
  }

  /**
   * Hands free slots to the most urgent waiting work across all partitions. Only the heads of the
   * demand heaps are scored (or, in a heap whose oldest work is not overdue, its first fresh entry
   * of another client, `freshBefore`); each pick takes as many slots as it can use and is not picked again in this
   * pump, so picks are few. A tier with no room left is passed over as a whole.
   */
  private pump(): void {
    if (this.busy >= this.size) return;
    const now = this.host.clock.now();
    const { maxWait } = this.host.options;
    let blocked = 0; // tiers (bit per TIER_RANK) with no room left in this pump
    while (this.busy < this.size) {
      let best: IndexedDemand | undefined;
      let bestScore = 0;
      let bestFresh = false;
      let bestFair = 0; // the share of the free slots its client may take, when it was picked for fairness
      for (let heap = 0; heap < HEAP_COUNT; heap++) {
        let head = this.demand.head(heap);
        if (!head || blocked & (1 << TIER_RANK[tierOfHeap(heap)])) continue;
        // Fair sharing between clients before age, until the oldest work is overdue (then by
        // deadline): a fresh client first, else the client granted least (client-clock.ts).
        const due = now - head.entry.oldestAt < maxWait[head.entry.serveAs];
        const fresh = due ? this.demand.freshBefore(heap, head) : undefined;
        const fair = due && !fresh ? this.demand.fairHead(heap) : undefined;
        head = fresh ?? fair ?? head;
        const score = scoreOf(head.entry, now, maxWait);
        if (!best || score > bestScore || (score === bestScore && head.entry.oldestAt < best.entry.oldestAt)) {
          best = head;
          bestScore = score;
          bestFresh = fresh !== undefined;
          bestFair = fair ? this.demand.fairShare(heap, fair) : 0;
        }
      }
      if (!best) break;
      // Beside equally old work elsewhere a pick takes at most a quarter of the pool: the next ones
      // get the rest of the slots freed at once, so partitions take turns slot by slot, not pump by pump.
      // A fresh client's pick takes one slot, for its next payload: the payloads behind it in its
      // partition are not pulled ahead of the other partitions' work, and a flood whose partitions
      // are all fresh at its start (each client FIFO new) takes one slot a partition, not the pool.
      // Picked for fairness, it takes its client's share (by weight) of the free slots; the tags see to the rest.
      const share = bestFresh ? 1 : bestFair > 0 ? Math.max(1, Math.round((this.size - this.busy) * bestFair)) : this.demand.hasPeer(best) ? Math.max(1, Math.ceil(this.size / PICK_SHARES)) : this.size;
      this.demand.hold(best);
      const { partition, entry } = best;
      if (this.host.paused?.(entry.handlerType)) continue; // held queued, never failed
      const grant = this.grantFor(entry, this.demand.available(best), share, now);
      if (!grant) {
        if (this.tierRoom(entry.serveAs, now) <= 0) blocked |= 1 << TIER_RANK[entry.serveAs];
        continue;
      }
      this.demand.granted(best);
      const slots = grant.batch ? 1 : grant.count;
      this.clients.charge(entry.nextClient, slots);
      this.busy += slots;
      this.busyByTier[entry.serveAs] += slots;
      this.busyByTypeCounts.set(entry.handlerType, (this.busyByTypeCounts.get(entry.handlerType) ?? 0) + slots);
      this.demand.addOutstanding(partition, entry.tier, entry.handlerType, grant.count);
      (this.unacknowledged[partition] ??= new Set()).add(grant);
      const list = this.granted[partition];
      if (list) list.push(grant);
      else {
        this.granted[partition] = [grant];
        this.grantedTo.push(partition);
      }
    }
    this.demand.restoreHeld();
    for (const partition of this.grantedTo) {
      const list = this.granted[partition] as Grant[];
      this.granted[partition] = undefined;
      this.host.partitions.grants(partition, list);
    }
    this.grantedTo.length = 0;
  }

  /** Slots a tier could still take now, whatever the handler type: free slots, reserved share, low share and throttle. */
  private tierRoom(serveAs: Tier, now: number): number {
    let room = this.size - this.busy;
    if (this.lowerTiers.has(serveAs)) room = Math.min(room, tierSlotLimit(this.host.options, this.size, serveAs) - this.lowerBusy());
    if (serveAs === 'low') {
      if (this.lowShare < 1) room = Math.min(room, Math.floor(this.size * this.lowShare) - this.busyByTier.low);
      room = Math.min(room, this.lowThrottle.available(now));
    }
    return room;
  }

  /** What this entry may start now: free slots, reserved share, type limit, low throttle and share, batching. */
  /** `share`: most slots for a single (unbatched) grant. */
  private grantFor(entry: DemandEntry, available: number, share: number, now: number): Grant | undefined {
    const { tier, handlerType, serveAs } = entry;
    const batch = tier === 'low' ? this.host.handlerOf(handlerType)?.options.batch : undefined;
    let slots = this.slotsFor(entry, batch ? 1 : Math.min(available, share), now);
    if (serveAs === 'low' && slots > 0) {
      slots = Math.min(slots, this.lowThrottle.available(now));
      if (slots <= 0) {
        const next = this.lowThrottle.nextAt(now);
        if (next !== undefined) this.wakeAt(next);
      }
    }
    const { limits } = this.host.options;
    if (slots <= 0) {
      // A rate holds it: pump again when its bucket allows a start (a running limit frees with a slot).
      const at = limits.bounded ? limits.poolNextAt(handlerType, now) : undefined;
      if (at !== undefined) this.wakeAt(at);
      return undefined;
    }
    if (!batch) {
      if (serveAs === 'low') this.lowThrottle.take(slots);
      if (limits.bounded) limits.poolTook(handlerType, slots);
      return { tier, handlerType, count: slots, serveAs, batch: false };
    }
    // A batch goes when it is full or its oldest payload has waited `waitMs`.
    if (available < batch.max && now - entry.oldestAt < batch.waitMs) {
      this.wakeAt(entry.oldestAt + batch.waitMs);
      return undefined;
    }
    if (serveAs === 'low') this.lowThrottle.take(1);
    if (limits.bounded) limits.poolTook(handlerType, 1); // a batch is one start of its handler
    return { tier, handlerType, count: Math.min(available, batch.max), serveAs, batch: true };
  }

  /** How many slots this entry may take now: free slots, reserved share, low share, type limit, global and type limits. */
  private slotsFor(entry: DemandEntry, wanted: number, now: number): number {
    let take = Math.min(wanted, this.size - this.busy);
    if (this.lowerTiers.has(entry.serveAs)) take = Math.min(take, tierSlotLimit(this.host.options, this.size, entry.serveAs) - this.lowerBusy());
    if (entry.serveAs === 'low' && this.lowShare < 1) take = Math.min(take, Math.floor(this.size * this.lowShare) - this.busyByTier.low);
    const typeLimit = this.host.handlerOf(entry.handlerType)?.options.concurrency;
    if (typeLimit !== undefined) take = Math.min(take, typeLimit - (this.busyByTypeCounts.get(entry.handlerType) ?? 0));
    const { limits } = this.host.options;
    if (limits.bounded && take > 0) {
      const room = limits.poolRoom(entry.handlerType, this.busy, this.busyByTypeCounts.get(entry.handlerType) ?? 0, now);
      if (room < take) {
        limits.markBound(entry.handlerType, now);
        take = room;
      }
    }
    return take;
  }

  private lowerBusy(): number {
    let n = 0;
    for (const tier of this.lowerTiers) n += this.busyByTier[tier];
    return n;
  }
}

/** A pick's most slots: the pool over this many. */
const PICK_SHARES = 4;

/** Urgency with aging; a yielding tier ages only within its own band, never above the tiers over it. */
function scoreOf(entry: DemandEntry, now: number, maxWait: Readonly<Record<Tier, number>>): number {
  const score = urgency(entry.serveAs, now - entry.oldestAt, maxWait[entry.serveAs]);
  return entry.yielding ? Math.min(score, TIER_RANK[entry.serveAs] + 0.999) : score;
}
