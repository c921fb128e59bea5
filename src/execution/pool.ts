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

export interface ActiveRun {
  readonly order: RunOrder;
  readonly startedAt: number;
  /** Created on first use of `ctx.signal`: most handlers never read it, and creating one is costly. */
  controller: AbortController | undefined;
  /** Why the run was stopped, so a signal created afterwards is born aborted. */
  abortReason: unknown;
  timer: TimerHandle | undefined;
  done: boolean;
}

function signalOf(run: ActiveRun): AbortSignal {
  if (!run.controller) {
    run.controller = new AbortController();
    if (run.abortReason !== undefined) run.controller.abort(run.abortReason);
  }
  return run.controller.signal;
}

function abortRun(run: ActiveRun, reason: unknown): void {
  run.abortReason = reason;
  run.controller?.abort(reason);
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
  /** Granted but not yet taken by the partition, by partition, tier and handler type. */
  private readonly outstanding: Array<Record<Tier, Map<string, number>> | undefined> = [];
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
    for (const g of grants) this.addOutstanding(partition, g.tier, g.handlerType, -g.count);
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
    abortRun(run, new CancelledError(reason));
  }

  /** Aborts everything running (stop without drain). */
  abortAll(reason: string): void {
    for (const run of [...this.runs.values()]) {
      this.finishRun(run);
      abortRun(run, new CancelledError(reason));
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
    const run: ActiveRun = { order, startedAt: this.host.clock.now(), controller: undefined, abortReason: undefined, timer: undefined, done: false };
    this.runs.set(order.id, run);
    if (!registered) {
      this.settle(run, { kind: 'failed', id: order.id, attempt: order.attempt, retryable: false, error: toFailure(new NonRetryableError(`no handler for type ${order.handlerType}`)) });
      return;
    }
    const ctx = new RunContext(run, this);
    let returned: unknown;
    try {
      returned = registered.fn(order.data, ctx);
    } catch (error) {
      this.failRun(run, registered.options, error);
      return;
    }
    if (!isThenable(returned)) {
      this.settle(run, { kind: 'completed', id: order.id, attempt: order.attempt, result: returned });
      return;
    }
    // Only work that is still pending needs a timeout.
    run.timer = this.host.clock.setTimer(order.timeout, () => {
      if (run.done) return;
      const error = new TimeoutError(order.timeout);
      this.settle(run, { kind: 'failed', id: order.id, attempt: order.attempt, retryable: true, error: toFailure(error) });
      abortRun(run, error);
    });
    returned.then(
      (result) => this.settle(run, { kind: 'completed', id: order.id, attempt: order.attempt, result }),
      (error: unknown) => this.failRun(run, registered.options, error),
    );
  }

  private failRun(run: ActiveRun, options: HandlerOptions, error: unknown): void {
    const retryable = !(error instanceof NonRetryableError || options.nonRetryable?.(error) === true);
    this.settle(run, { kind: 'failed', id: run.order.id, attempt: run.order.attempt, retryable, error: toFailure(error) });
  }

  /** `ctx.progress` of a running attempt. */
  reportProgress(run: ActiveRun, value: unknown): void {
    if (!run.done) this.post(run.order.partition, { kind: 'progress', id: run.order.id, attempt: run.order.attempt, value });
  }

  get logger(): Logger {
    return this.host.logger;
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
    const candidates: Candidate[] = [];
    for (let partition = 0; partition < this.demand.length; partition++) {
      for (const entry of this.demand[partition] as readonly DemandEntry[]) {
        const available = entry.count - this.outstandingOf(partition, entry.tier, entry.handlerType);
        if (available > 0) candidates.push({ partition, entry, available, score: urgency(entry.tier, now - entry.oldestAt, maxWait[entry.tier]) });
      }
    }
    const grants = new Map<number, Grant[]>();
    // Most urgent first; each pick takes as many slots as it can use, so picks are few.
    while (this.busy < this.size && candidates.length > 0) {
      let bestAt = 0;
      for (let i = 1; i < candidates.length; i++) if (moreUrgent(candidates[i] as Candidate, candidates[bestAt] as Candidate)) bestAt = i;
      const { partition, entry, available } = candidates[bestAt] as Candidate;
      candidates[bestAt] = candidates[candidates.length - 1] as Candidate;
      candidates.pop();
      const take = this.slotsFor(entry, available);
      if (take <= 0) continue;
      const { tier, handlerType } = entry;
      this.busy += take;
      this.busyByTier[tier] += take;
      this.busyByType.set(handlerType, (this.busyByType.get(handlerType) ?? 0) + take);
      this.addOutstanding(partition, tier, handlerType, take);
      let list = grants.get(partition);
      if (!list) grants.set(partition, (list = []));
      list.push({ tier, handlerType, count: take });
    }
    for (const [partition, list] of grants) this.host.sendGrants(partition, list);
  }

  /** How many of `available` payloads of this entry may start now: free slots, reserved share, type limit. */
  private slotsFor(entry: DemandEntry, available: number): number {
    let take = Math.min(available, this.size - this.busy);
    if (this.lowerTiers.has(entry.tier)) take = Math.min(take, tierSlotLimit(this.host.options, this.size, entry.tier) - this.lowerBusy());
    const typeLimit = this.host.handlerOf(entry.handlerType)?.options.concurrency;
    if (typeLimit !== undefined) take = Math.min(take, typeLimit - (this.busyByType.get(entry.handlerType) ?? 0));
    return take;
  }

  private outstandingOf(partition: number, tier: Tier, handlerType: string): number {
    return this.outstanding[partition]?.[tier].get(handlerType) ?? 0;
  }

  private addOutstanding(partition: number, tier: Tier, handlerType: string, delta: number): void {
    let byTier = this.outstanding[partition];
    if (!byTier) this.outstanding[partition] = byTier = { critical: new Map(), high: new Map(), medium: new Map(), low: new Map() };
    const left = (byTier[tier].get(handlerType) ?? 0) + delta;
    if (left > 0) byTier[tier].set(handlerType, left);
    else byTier[tier].delete(handlerType);
  }

  private lowerBusy(): number {
    let n = 0;
    for (const tier of this.lowerTiers) n += this.busyByTier[tier];
    return n;
  }
}

interface Candidate {
  readonly partition: number;
  readonly entry: DemandEntry;
  readonly available: number;
  readonly score: number;
}

const moreUrgent = (a: Candidate, b: Candidate): boolean =>
  a.score > b.score || (a.score === b.score && a.entry.oldestAt < b.entry.oldestAt);

/** The handler's `ctx`: a class, so starting a run allocates one object and no closures. */
class RunContext implements HandlerContext {
  constructor(
    private readonly run: ActiveRun,
    private readonly pool: ExecutionPool,
  ) {}
  get id(): string {
    return this.run.order.id;
  }
  get clientId(): string {
    return this.run.order.clientId;
  }
  get attempt(): number {
    return this.run.order.attempt;
  }
  get degraded(): boolean {
    return this.run.order.degraded;
  }
  get signal(): AbortSignal {
    return signalOf(this.run);
  }
  progress(value: unknown): void {
    this.pool.reportProgress(this.run, value);
  }
  get log(): Logger {
    const { order } = this.run;
    return scopedLogger(this.pool.logger, { payload: order.id, type: order.handlerType, attempt: order.attempt });
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
