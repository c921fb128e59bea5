/**
 * The run half of the execution pool: launching handlers (singly or as a batch), their contexts,
 * timeouts, cancellation, coalesced outcomes, cost metering and stuck detection. Capacity (who may
 * run) is decided in pool.ts; a run hands its capacity back through `host.free` when it ends.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { CancelledError, NonRetryableError, TimeoutError, toFailure } from '../errors.ts';
import type { StuckReport } from '../load/system-events.ts';
import { backgroundTimer } from '../load/timers.ts';
import type { DependencyOutcomes, Tier } from '../payload.ts';
import { scopedLogger, type Handler, type HandlerContext, type HandlerOptions, type Logger } from './handlers.ts';
import type { MeterMark, RunMeter } from './meter.ts';
import type { Outcome, PartitionPort, RunOrder } from './protocol.ts';
import type { Slot, SlotTable } from './slots.ts';

export interface RunnerHost {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly meter: RunMeter;
  readonly slots: SlotTable;
  /** How long a timed-out handler may take to settle before its slot is reported stuck, ms. */
  readonly stuckGraceMs: number;
  handlerOf(type: string): { readonly fn: Handler; readonly options: HandlerOptions } | undefined;
  /** Where outcomes go (coalesced: one message per partition per microtask). */
  readonly partitions: Pick<PartitionPort, 'outcomes'>;
  /** Capacity back to the pool. */
  free(slotTier: Tier, handlerType: string, count: number): void;
  onStuck?(report: StuckReport): void;
}

/**
 * One attempt in flight, and the handler's `ctx` at once: a run allocates this one object. Its
 * bookkeeping fields are the runner's; a handler sees it through `HandlerContext`.
 */
export class ActiveRun implements HandlerContext, MeterMark {
  /** Batch members cancelled while the batch runs: they get no outcome. */
  cancelled: Set<string> | undefined = undefined;
  /** Created on first use of `ctx.signal`: most handlers never read it, and creating one is costly. */
  controller: AbortController | undefined = undefined;
  /** Why the run was stopped, so a signal created afterwards is born aborted. */
  abortReason: unknown = undefined;
  timer: TimerHandle | undefined = undefined;
  slot: Slot | undefined = undefined;
  /** Its place in the runner's list of active runs (-1 once it left). */
  at = -1;
  done = false;
  timedOut = false;
  cpu0 = -1;
  heap0 = 0;
  integral0 = 0;

  constructor(
    readonly order: RunOrder,
    /** A batch's orders, in the order of the data array (the first is `order`); undefined for a single run. */
    readonly members: readonly RunOrder[] | undefined,
    readonly startedAt: number,
    private readonly runner: Runner,
  ) {}

  get id(): string {
    return this.order.id;
  }
  get batchIds(): readonly string[] | undefined {
    return this.members?.map((m) => m.id);
  }
  get clientId(): string {
    return this.order.clientId;
  }
  get attempt(): number {
    return this.order.attempt;
  }
  get degraded(): boolean {
    return this.order.degraded;
  }
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }
  get dependencies(): DependencyOutcomes {
    return this.order.dependencies ?? NO_DEPENDENCIES;
  }
  progress(value: unknown): void {
    this.runner.reportProgress(this, value);
  }
  checkpoint(value: unknown): Promise<void> {
    return this.runner.storeCheckpoint(this, value);
  }
  get lastCheckpoint(): unknown {
    return this.order.lastCheckpoint;
  }
  get log(): Logger {
    const { order } = this;
    return scopedLogger(this.runner.logger, { payload: order.id, type: order.handlerType, attempt: order.attempt });
  }

  abort(reason: unknown): void {
    this.abortReason = reason;
    this.controller?.abort(reason);
  }
}

const NO_DEPENDENCIES: DependencyOutcomes = Object.freeze({});

export class Runner {
  /**
   * Runs in flight, in no order (an ended one is swapped out: O(1)), in the first `activeCount`
   * places. A Map by id cost a rehash as it emptied and filled again with every wave, and is needed
   * only to find a run to cancel, which is rare and scans at most the pool's size. The array never
   * shrinks: popped empty, V8 trims its store, and the next push allocates one again (a run that
   * ends before the next starts did so for every run).
   */
  private readonly active: Array<ActiveRun | undefined> = [];
  private activeCount = 0;
  /** Payloads running (a batch counts its members that were not cancelled). */
  private running = 0;
  private readonly outbox = new Map<number, Outcome[]>();
  private toLaunch: RunOrder[] = [];
  private flushQueued = false;
  /**
   * The clock as the last run that ended read it, while `launchAll` goes through its orders: a
   * handler that returned at once ended when the next one starts, so one read serves both.
   */
  private endedAt: number | undefined;

  constructor(private readonly host: RunnerHost) {}

  /** Runs an attempt in a slot already held by its grant; starts after the current actor turn. */
  start(order: RunOrder): void {
    this.toLaunch.push(order);
    if (this.toLaunch.length === 1) queueMicrotask(() => this.launchAll());
  }

  /** Stops a running attempt (cancellation): its signal fires and its capacity is freed now. */
  abort(id: string, reason: string): void {
    const run = this.find(id);
    if (!run || run.done) return;
    if (run.members && run.members.length > 1) {
      // One member of a batch: it leaves the batch, which goes on for the others while any is left.
      (run.cancelled ??= new Set()).add(id);
      this.running--;
      if (run.cancelled.size < run.members.length) return;
    }
    this.finishRun(run, undefined);
    run.abort(new CancelledError(reason));
  }

  /** Aborts everything running (stop without drain). */
  abortAll(reason: string): void {
    for (const run of this.active.slice(0, this.activeCount) as ActiveRun[]) {
      this.finishRun(run, undefined);
      run.abort(new CancelledError(reason));
    }
  }

  get runningCount(): number {
    return this.running;
  }

  /** The run of payload `id`, if it is in flight and was not cancelled out of its batch. */
  private find(id: string): ActiveRun | undefined {
    for (let i = 0; i < this.activeCount; i++) {
      const run = this.active[i] as ActiveRun;
      if (run.members ? run.members.some((m) => m.id === id) && !run.cancelled?.has(id) : run.order.id === id) return run;
    }
    return undefined;
  }

  /** The attempts whose handlers run now, each with its start (a batch member under its batch's). */
  runningNow(): Array<{ readonly order: RunOrder; readonly startedAt: number }> {
    const out: Array<{ order: RunOrder; startedAt: number }> = [];
    for (let i = 0; i < this.activeCount; i++) {
      const run = this.active[i] as ActiveRun;
      if (!run.members) out.push({ order: run.order, startedAt: run.startedAt });
      else for (const member of run.members) if (!run.cancelled?.has(member.id)) out.push({ order: member, startedAt: run.startedAt });
    }
    return out;
  }

  get logger(): Logger {
    return this.host.logger;
  }

  /** `ctx.checkpoint` of a running attempt: the partition journals it, then the promise resolves. */
  storeCheckpoint(run: ActiveRun, value: unknown): Promise<void> {
    const { order } = run;
    if (run.done) return Promise.reject(new CancelledError('this attempt is over; its checkpoint was not stored'));
    return new Promise<void>((resolve, reject) => {
      const stored = (ok: boolean) => (ok ? resolve() : reject(new CancelledError('this attempt is over; its checkpoint was not stored')));
      this.post(order.partition, { kind: 'checkpoint', id: order.id, attempt: order.attempt, value, stored });
    });
  }

  /** `ctx.progress` of a running attempt (a batch reports it for every member). */
  reportProgress(run: ActiveRun, value: unknown): void {
    if (run.done) return;
    for (const order of this.live(run)) this.post(order.partition, { kind: 'progress', id: order.id, attempt: order.attempt, value });
  }

  private launchAll(): void {
    const orders = this.toLaunch;
    this.toLaunch = [];
    this.endedAt = undefined;
    for (let i = 0; i < orders.length; i++) {
      const order = orders[i] as RunOrder;
      const now = this.endedAt ?? this.host.clock.now();
      this.endedAt = undefined;
      if (order.batch === undefined) {
        // A handler that batches always gets an array: a payload run alone is a batch of one.
        this.launch(order, this.host.handlerOf(order.handlerType)?.options.batch ? [order] : undefined, now);
        continue;
      }
      // A batch's orders come from one grant, so they are adjacent.
      const members = [order];
      while (i + 1 < orders.length && orders[i + 1]?.batch === order.batch) members.push(orders[++i] as RunOrder);
      this.launch(order, members, now);
    }
    this.endedAt = undefined;
  }

  private launch(order: RunOrder, members: RunOrder[] | undefined, now: number): void {
    const run = new ActiveRun(order, members, now, this);
    run.at = this.activeCount;
    this.active[this.activeCount++] = run;
    this.running += members ? members.length : 1;
    run.slot = this.host.slots.acquire(order.id, now);
    this.host.meter.begin(run, now);
    const registered = this.host.handlerOf(order.handlerType);
    if (!registered) {
      this.fail(run, false, toFailure(new NonRetryableError(`no handler for type ${order.handlerType}`)));
      return;
    }
    let returned: unknown;
    try {
      returned = registered.fn(members ? members.map((m) => m.data) : order.data, run);
    } catch (error) {
      this.failWith(run, registered.options, error);
      return;
    }
    if (!isThenable(returned)) {
      this.complete(run, returned);
      return;
    }
    // Only work that is still pending needs a timeout.
    const timeout = members ? Math.max(...members.map((m) => m.timeout)) : order.timeout;
    run.timer = this.host.clock.setTimer(timeout, () => this.timeOut(run, timeout));
    returned.then(
      (result) => this.complete(run, result),
      (error: unknown) => this.failWith(run, registered.options, error),
    );
  }

  /** The attempt fails and its signal fires; the capacity goes on, the slot waits out the grace period. */
  private timeOut(run: ActiveRun, timeout: number): void {
    if (run.done) return;
    const error = new TimeoutError(timeout);
    this.fail(run, true, toFailure(error));
    run.abort(error);
  }

  private complete(run: ActiveRun, result: unknown): void {
    if (run.done) return this.lateSettle(run);
    const { members, cancelled } = run;
    this.finishRun(run, true);
    if (!members) return this.post(run.order.partition, { kind: 'completed', id: run.order.id, attempt: run.order.attempt, result });
    // A batch handler may return one result per member, in order; anything else goes to every member.
    const each = Array.isArray(result) && result.length === members.length;
    members.forEach((m, i) => {
      if (!cancelled?.has(m.id)) this.post(m.partition, { kind: 'completed', id: m.id, attempt: m.attempt, result: each ? (result as unknown[])[i] : result });
    });
  }

  private failWith(run: ActiveRun, options: HandlerOptions, error: unknown): void {
    if (run.done) return this.lateSettle(run);
    const retryable = !(error instanceof NonRetryableError || options.nonRetryable?.(error) === true);
    this.fail(run, retryable, toFailure(error));
  }

  private fail(run: ActiveRun, retryable: boolean, error: ReturnType<typeof toFailure>): void {
    if (run.done) return;
    const timedOut = error.code === 'TIMEOUT';
    const live = this.live(run);
    this.finishRun(run, timedOut ? 'timeout' : false);
    for (const m of live) this.post(m.partition, { kind: 'failed', id: m.id, attempt: m.attempt, retryable, error });
  }

  private live(run: ActiveRun): readonly RunOrder[] {
    if (!run.members) return [run.order];
    const { cancelled } = run;
    return cancelled ? run.members.filter((m) => !cancelled.has(m.id)) : run.members;
  }

  /** A handler settled after its run ended (timed out or cancelled): its detached or stuck slot leaves. */
  private lateSettle(run: ActiveRun): void {
    if (!run.timedOut || !run.slot) return;
    this.host.slots.release(run.slot, undefined, 0, this.host.clock.now());
    run.slot = undefined;
  }

  /** `ok`: completed (true), failed (false), timed out, or cancelled/aborted (undefined). */
  private finishRun(run: ActiveRun, ok: boolean | 'timeout' | undefined): void {
    const now = this.host.clock.now();
    this.endedAt = now;
    run.done = true;
    run.timer?.cancel();
    if (run.at >= 0) {
      const lastAt = --this.activeCount;
      const last = this.active[lastAt] as ActiveRun;
      this.active[lastAt] = undefined;
      if (last !== run) {
        this.active[run.at] = last;
        last.at = run.at;
      }
      run.at = -1;
      this.running -= run.members ? run.members.length - (run.cancelled?.size ?? 0) : 1;
    }
    const { order } = run;
    const costed = ok !== undefined; // a timeout is a cost observation too: the payload ran that long
    this.host.meter.end(run, run.startedAt, now, costed ? order.clientId : undefined, order.handlerType, run.members?.length ?? 1);
    const slot = run.slot;
    if (slot && ok === 'timeout') {
      run.timedOut = true;
      this.host.slots.detach(slot, now);
      this.watchForStuck(run, slot);
    } else if (slot) {
      this.host.slots.release(slot, ok === true || ok === false ? ok : undefined, now - run.startedAt, now);
      run.slot = undefined;
    }
    this.host.free(order.slotTier, order.handlerType, 1);
  }

  private watchForStuck(run: ActiveRun, slot: Slot): void {
    const { order } = run;
    backgroundTimer(this.host.clock, this.host.stuckGraceMs, () => {
      if (run.slot !== slot || !this.host.slots.markStuck(slot)) return; // it settled within the grace period
      const report: StuckReport = {
        at: this.host.clock.now(), slot: slot.id, id: order.id, handlerType: order.handlerType, partition: order.partition,
        startedAt: run.startedAt, timeout: order.timeout,
      };
      this.host.logger.warn('handler stuck past its timeout and grace; its slot was replaced', { ...report });
      this.host.onStuck?.(report);
    });
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
    for (const [partition, outcomes] of this.outbox) this.host.partitions.outcomes(partition, outcomes);
    this.outbox.clear();
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
