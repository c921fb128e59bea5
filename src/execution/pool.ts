/**
 * The execution pool: the effect edge where handlers run. It owns the slots (how many, which tiers
 * may use the reserved share, per-type limits), decides which partition's work gets a free slot
 * (highest urgency first, so aging holds across partitions), and turns handler outcomes into
 * coalesced messages back to the partitions. Handler code never runs inside an actor function.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { CancelledError, NonRetryableError, TimeoutError, toFailure } from '../errors.ts';
import { tierSlotLimit, type CompiledOptions } from '../options.ts';
import { TIERS, type Tier } from '../payload.ts';
import { scopedLogger, type Handler, type HandlerContext, type HandlerOptions, type Logger } from './handlers.ts';
import { urgency } from './aging.ts';
import type { DemandEntry, Grant, Outcome, RunOrder } from './protocol.ts';

export interface PoolHost {
  readonly options: CompiledOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  handlerOf(type: string): { readonly fn: Handler; readonly options: HandlerOptions } | undefined;
  sendGrants(partition: number, grants: Grant[]): void;
  sendOutcomes(partition: number, outcomes: Outcome[]): void;
}

interface ActiveRun {
  readonly order: RunOrder;
  readonly controller: AbortController;
  readonly startedAt: number;
  timer: TimerHandle | undefined;
  done: boolean;
}

export interface PoolStats {
  readonly size: number;
  readonly busy: number;
  readonly running: number;
  readonly byTier: Readonly<Record<Tier, number>>;
}

export class ExecutionPool {
  private size: number;
  private busy = 0;
  private readonly busyByTier: Record<Tier, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  private readonly busyByType = new Map<string, number>();
  private readonly demand: Array<readonly DemandEntry[]>;
  /** Granted but not yet taken by the partition, by `partition|tier|type`. */
  private readonly outstanding = new Map<string, number>();
  private readonly runs = new Map<string, ActiveRun>();
  private readonly outbox = new Map<number, Outcome[]>();
  private toLaunch: RunOrder[] = [];
  private pumpQueued = false;
  private flushQueued = false;
  private readonly lowerTiers: ReadonlySet<Tier>;

  constructor(private readonly host: PoolHost) {
    this.size = host.options.concurrency;
    this.demand = Array.from({ length: host.options.partitions }, () => []);
    this.lowerTiers = new Set(TIERS.slice(TIERS.indexOf(host.options.reservedFor) + 1));
  }

  stats(): PoolStats {
    return { size: this.size, busy: this.busy, running: this.runs.size, byTier: { ...this.busyByTier } };
  }

  /** Changes the number of slots; running work is never interrupted by a shrink. */
  resize(size: number): void {
    this.size = Math.max(1, Math.floor(size));
    this.schedulePump();
  }

  /** A partition's current demand, replacing the previous one. */
  setDemand(partition: number, entries: readonly DemandEntry[]): void {
    this.demand[partition] = entries;
    if (entries.length > 0) this.schedulePump();
  }

  /** The partition has processed these grants (started what it could and released the rest). */
  acknowledge(partition: number, grants: readonly Grant[]): void {
    for (const g of grants) {
      const key = `${partition}|${g.tier}|${g.handlerType}`;
      const left = (this.outstanding.get(key) ?? 0) - g.count;
      if (left > 0) this.outstanding.set(key, left);
      else this.outstanding.delete(key);
    }
  }

  /** Slots granted that the partition could not use (its payloads were cancelled meanwhile). */
  release(tier: Tier, handlerType: string, count: number): void {
    this.free(tier, handlerType, count);
  }

  /** Runs an attempt in a slot already held by its grant; starts after the current actor turn. */
  start(order: RunOrder): void {
    this.toLaunch.push(order);
    if (this.toLaunch.length === 1) queueMicrotask(() => this.launchAll());
  }

  /** Stops a running attempt (cancellation): its signal fires and its slot is freed now. */
  abort(id: string, reason: string): void {
    const run = this.runs.get(id);
    if (!run || run.done) return;
    this.finishRun(run);
    run.controller.abort(new CancelledError(reason));
  }

  /** Aborts everything running (stop without drain). */
  abortAll(reason: string): void {
    for (const run of [...this.runs.values()]) {
      this.finishRun(run);
      run.controller.abort(new CancelledError(reason));
    }
  }

  get runningCount(): number {
    return this.runs.size;
  }

  private launchAll(): void {
    const orders = this.toLaunch;
    this.toLaunch = [];
    for (const order of orders) this.launch(order);
  }

  private launch(order: RunOrder): void {
    const registered = this.host.handlerOf(order.handlerType);
    const controller = new AbortController();
    const hostLogger = this.host.logger;
    const run: ActiveRun = { order, controller, startedAt: this.host.clock.now(), timer: undefined, done: false };
    this.runs.set(order.id, run);
    if (!registered) {
      this.settle(run, { kind: 'failed', id: order.id, attempt: order.attempt, retryable: false, error: toFailure(new NonRetryableError(`no handler for type ${order.handlerType}`)) });
      return;
    }
    run.timer = this.host.clock.setTimer(order.timeout, () => {
      if (run.done) return;
      const error = new TimeoutError(order.timeout);
      this.settle(run, { kind: 'failed', id: order.id, attempt: order.attempt, retryable: true, error: toFailure(error) });
      controller.abort(error);
    });
    const ctx: HandlerContext = {
      id: order.id,
      clientId: order.clientId,
      attempt: order.attempt,
      degraded: order.degraded,
      signal: controller.signal,
      progress: (value) => {
        if (!run.done) this.post(order.partition, { kind: 'progress', id: order.id, attempt: order.attempt, value });
      },
      get log() {
        return scopedLogger(hostLogger, { payload: order.id, type: order.handlerType, attempt: order.attempt });
      },
    };
    const fail = (error: unknown) => {
      const nonRetryable = error instanceof NonRetryableError || registered.options.nonRetryable?.(error) === true;
      this.settle(run, { kind: 'failed', id: order.id, attempt: order.attempt, retryable: !nonRetryable, error: toFailure(error) });
    };
    let returned: unknown;
    try {
      returned = registered.fn(order.data, ctx);
    } catch (error) {
      fail(error);
      return;
    }
    if (isThenable(returned)) {
      returned.then((result) => this.settle(run, { kind: 'completed', id: order.id, attempt: order.attempt, result }), fail);
    } else {
      this.settle(run, { kind: 'completed', id: order.id, attempt: order.attempt, result: returned });
    }
  }

  private settle(run: ActiveRun, outcome: Outcome): void {
    if (run.done) return; // timed out or cancelled earlier: a late result is ignored
    this.finishRun(run);
    this.post(run.order.partition, outcome);
  }

  private finishRun(run: ActiveRun): void {
    run.done = true;
    run.timer?.cancel();
    if (this.runs.get(run.order.id) === run) this.runs.delete(run.order.id);
    this.free(run.order.tier, run.order.handlerType, 1);
  }

  private post(partition: number, outcome: Outcome): void {
    let list = this.outbox.get(partition);
    if (!list) this.outbox.set(partition, (list = []));
    list.push(outcome);
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushQueued = false;
    for (const [partition, outcomes] of this.outbox) this.host.sendOutcomes(partition, outcomes);
    this.outbox.clear();
  }

  private free(tier: Tier, handlerType: string, count: number): void {
    this.busy -= count;
    this.busyByTier[tier] -= count;
    this.busyByType.set(handlerType, (this.busyByType.get(handlerType) ?? count) - count);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => this.pump());
  }

  /** Hands free slots to the most urgent waiting work across all partitions. */
  private pump(): void {
    this.pumpQueued = false;
    if (this.busy >= this.size) return;
    const now = this.host.clock.now();
    const { maxWait } = this.host.options;
    const candidates: Array<{ partition: number; entry: DemandEntry; available: number; score: number }> = [];
    for (let partition = 0; partition < this.demand.length; partition++) {
      for (const entry of this.demand[partition] as readonly DemandEntry[]) {
        const available = entry.count - (this.outstanding.get(`${partition}|${entry.tier}|${entry.handlerType}`) ?? 0);
        if (available > 0) candidates.push({ partition, entry, available, score: urgency(entry.tier, now - entry.oldestAt, maxWait[entry.tier]) });
      }
    }
    if (candidates.length === 0) return;
    candidates.sort((a, b) => b.score - a.score || a.entry.oldestAt - b.entry.oldestAt);
    const lowerLimit = tierSlotLimit(this.host.options, this.size, 'low');
    const grants = new Map<number, Grant[]>();
    for (const { partition, entry, available } of candidates) {
      const free = this.size - this.busy;
      if (free <= 0) break;
      const { tier, handlerType } = entry;
      let take = Math.min(available, free);
      if (this.lowerTiers.has(tier)) take = Math.min(take, lowerLimit - this.lowerBusy());
      const typeLimit = this.host.handlerOf(handlerType)?.options.concurrency;
      if (typeLimit !== undefined) take = Math.min(take, typeLimit - (this.busyByType.get(handlerType) ?? 0));
      if (take <= 0) continue;
      this.busy += take;
      this.busyByTier[tier] += take;
      this.busyByType.set(handlerType, (this.busyByType.get(handlerType) ?? 0) + take);
      const key = `${partition}|${tier}|${handlerType}`;
      this.outstanding.set(key, (this.outstanding.get(key) ?? 0) + take);
      let list = grants.get(partition);
      if (!list) grants.set(partition, (list = []));
      list.push({ tier, handlerType, count: take });
    }
    for (const [partition, list] of grants) this.host.sendGrants(partition, list);
  }

  private lowerBusy(): number {
    let n = 0;
    for (const tier of this.lowerTiers) n += this.busyByTier[tier];
    return n;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
