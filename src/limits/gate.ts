/**
 * The limits in force and their live counts: one object per runtime, read by the pool when it
 * grants (the global and per-type limits: `poolRoom`) and by every partition when it starts a
 * payload (the per-client and per-key limits: `holdOf`, `started`, `ended`). `runtime.setLimits`
 * replaces the rules in place, so they hold from the next grant without a restart.
 *
 * A payload a limit holds is never failed: it stays queued. The pool grants no slot past a global
 * or type limit; a partition parks the client FIFO whose head a client or key limit holds (its
 * mailbox offers the pool none of it) and registers here as a waiter on that limit's scope. When
 * the scope has room again (an attempt ended, tokens refilled, the rules changed) the waiters are
 * woken, once per turn, and offer their parked FIFOs again.
 *
 * Running counts of client and key scopes are the partitions' starts and ends; the pool's own
 * busy counts are the running counts of the global and type scopes.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import { TimerHeap } from '../collections/timer-heap.ts';
import { LeasedBucket, type RateLeaser } from './leased-bucket.ts';
import { localBucket, ScopeState, type BucketFactory, type LimitScope } from './scope-state.ts';
import { compileLimits, limitsOptionsOf, type CompiledLimits, type Limit, type LimitsOptions } from './rules.ts';

/** What a client or key limit reads of a payload. */
export interface LimitedRecord {
  readonly id: string;
  readonly clientId: string;
  readonly concurrencyKey: string | undefined;
}

/** How the gate reaches the partitions; attached by the runtime once they exist. */
export interface LimitWiring {
  readonly clock: Clock;
  /** Partition `partition` may offer what it parked on these scopes again (undefined: on every scope). */
  wake(partition: number, scopes: readonly LimitScope[] | undefined): void;
  /** In a cluster: the global and per-type rates are the cluster's, leased from Redis. */
  readonly rates?: RateLeaser;
  /** A lease the cluster could not give (Redis away); the starts it holds wait for the next. */
  onLeaseError?(error: unknown): void;
  /** Spreads the retries of refused leases (the runtime's `random`). */
  readonly random?: () => number;
}

export type { LimitScope } from './scope-state.ts';

/** A live count of one limited scope. */
export interface ScopeUsage {
  readonly scope: LimitScope;
  readonly limit: Limit | undefined;
  /** Attempts running now in the scope (client and key scopes only: the pool counts the others). */
  readonly running: number;
  /** Starts the scope's bucket allows now (undefined: no rate). */
  readonly tokens: number | undefined;
}

const NOTHING_TAKEN: ReadonlyMap<LimitScope, number> = new Map();

/** Scopes whose rate a cluster shares (the others are each node's). */
const isShared = (scope: LimitScope): boolean => scope === 'global' || scope.startsWith('type:');

/** How long a limit cutting a type's starts counts as holding it back (see `isBound`). */
const BOUND_MS = 1_000;

export class LimitGate {
  private rules: CompiledLimits;
  private readonly scopes = new Map<LimitScope, ScopeState>();
  /** Started payloads counted in client or key scopes, with those scopes (their end counts down the same ones). */
  private readonly counted = new Map<string, ScopeState[]>();
  /** Scopes to check for room at a refill time, and the one timer for the earliest. */
  private readonly refills = new TimerHeap<LimitScope>();
  private refillTimer: { at: number; handle: TimerHandle } | undefined;
  private wiring: LimitWiring | undefined;
  /** Wakes gathered in this turn, by partition (undefined entry: every scope). */
  private readonly pending = new Map<number, Set<LimitScope> | undefined>();
  private flushQueued = false;
  private sizeAtPrune = 64;
  private readonly listeners = new Set<() => void>();
  /** Handler types (`*`: all) whose starts a global or type limit cut, and when it last did. */
  private readonly bound = new Map<string, number>();
  /** Some client or key limit is in force: partitions check each start. */
  keyed = false;
  /** Some global or type limit is in force: the pool checks each grant. */
  bounded = false;

  constructor(options: LimitsOptions | undefined = undefined, field = 'limits') {
    this.rules = compileLimits(options, field);
    this.refresh(0);
  }

  /** The rules in force, as options. */
  get current(): LimitsOptions {
    return limitsOptionsOf(this.rules);
  }

  attach(wiring: LimitWiring): void {
    this.wiring = wiring;
    if (!wiring.rates) return;
    const now = wiring.clock.now();
    for (const [name, state] of this.scopes) if (isShared(name)) state.rebuild(now);
  }

  /** Called (synchronously) after each change of the rules: the pool pumps again. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replaces every limit; throws OptionsError and changes nothing when they are bad. Parked work is offered again. */
  set(options: LimitsOptions, field = 'limits'): void {
    this.rules = compileLimits(options, field);
    const now = this.wiring?.clock.now() ?? 0;
    this.refresh(now);
    for (const [name, state] of this.scopes) {
      state.setLimit(this.limitOf(name), now);
      if (state.limit === undefined && state.idle(now)) this.scopes.delete(name);
    }
    for (const state of this.scopes.values()) {
      if (!state.waiters) continue;
      for (const partition of state.waiters) this.pending.set(partition, undefined);
      state.waiters.clear();
    }
    this.scheduleFlush();
    this.changed();
  }

  // ——— the pool's side: global and per-type limits ———

  /**
   * Slots the global and `type` limits allow to start now, given what the pool has busy in all and
   * of this type. Infinity when neither limits anything.
   */
  poolRoom(type: string, busy: number, busyOfType: number, now: number): number {
    return this.poolShare(type, busy, busyOfType, now, NOTHING_TAKEN).room;
  }

  /** The pool started fewer of `type` than it had slots for, because of a limit. */
  markBound(type: string, now: number): void {
    this.bound.set(type, now);
  }

  /**
   * Whether a global or type limit held `type` back within the last second: its waiting work then
   * waits for the limit, not for a slot, and its age says nothing about load.
   */
  isBound(type: string, now: number): boolean {
    if (this.bound.size === 0) return false;
    const at = this.bound.get(type);
    return at !== undefined && now - at < BOUND_MS;
  }

  /**
   * How many payloads of `type` the global and type limits let start now, less the room already
   * counted for other entries (`taken`, by scope); and the scope that binds (undefined: none limits it).
   */
  poolShare(type: string, busy: number, busyOfType: number, now: number, taken: ReadonlyMap<LimitScope, number>): { room: number; scope: LimitScope | undefined } {
    let room = Number.POSITIVE_INFINITY;
    let scope: LimitScope | undefined;
    const typeLimit = this.rules.types.get(type);
    if (typeLimit) {
      const name = `type:${type}`;
      room = Math.max(0, this.roomOf(name, typeLimit, busyOfType, now) - (taken.get(name) ?? 0));
      scope = name;
    }
    const { global } = this.rules;
    if (global) {
      const globalRoom = Math.max(0, this.roomOf('global', global, busy, now) - (taken.get('global') ?? 0));
      if (globalRoom < room) {
        room = globalRoom;
        scope = 'global';
      }
    }
    return { room, scope };
  }

  /** The pool granted `count` starts of `type`: they take their tokens. */
  poolTook(type: string, count: number): void {
    if (this.rules.global?.perSecond !== undefined) this.scopes.get('global')?.bucket?.take(count);
    if (this.rules.types.get(type)?.perSecond !== undefined) this.scopes.get(`type:${type}`)?.bucket?.take(count);
  }

  /** When the global and `type` buckets next allow a start, if a rate is what holds them (for the pool's wake-up). */
  poolNextAt(type: string, now: number): number | undefined {
    let at: number | undefined;
    for (const name of ['global', `type:${type}`]) {
      const bucket = this.scopes.get(name)?.bucket;
      if (!bucket || bucket.available(now) >= 1) continue;
      const next = bucket.nextAt(now);
      if (next !== undefined && (at === undefined || next < at)) at = next;
    }
    return at;
  }

  private roomOf(name: LimitScope, limit: Limit, running: number, now: number): number {
    let room = limit.maxRunning === undefined ? Number.POSITIVE_INFINITY : limit.maxRunning - running;
    if (limit.perSecond !== undefined) room = Math.min(room, this.stateOf(name, limit, now).bucket?.available(now) ?? 0);
    return room;
  }

  // ——— the partitions' side: per-client and per-key limits ———

  /** The scope whose limit holds this payload's start now, or undefined when it may start. */
  holdOf(record: LimitedRecord, now: number): LimitScope | undefined {
    const { clients, keys } = this.rules;
    const clientLimit = clients.overrides.get(record.clientId) ?? clients.default;
    if (clientLimit && this.full(`client:${record.clientId}`, clientLimit, now)) return `client:${record.clientId}`;
    const key = record.concurrencyKey;
    if (key === undefined) return undefined;
    const keyLimit = keys.overrides.get(key) ?? keys.default;
    if (keyLimit && this.full(`key:${key}`, keyLimit, now)) return `key:${key}`;
    return undefined;
  }

  /** The payload started: it counts in its client's and key's scopes (those with a limit) until `ended`. */
  started(record: LimitedRecord, now: number): void {
    const { clients, keys } = this.rules;
    let counted: ScopeState[] | undefined;
    const clientLimit = clients.overrides.get(record.clientId) ?? clients.default;
    if (clientLimit) (counted ??= []).push(this.stateOf(`client:${record.clientId}`, clientLimit, now));
    const key = record.concurrencyKey;
    const keyLimit = key === undefined ? undefined : keys.overrides.get(key) ?? keys.default;
    if (keyLimit) (counted ??= []).push(this.stateOf(`key:${key}`, keyLimit, now));
    if (!counted) return;
    for (const state of counted) {
      state.running++;
      state.bucket?.take(1);
    }
    this.counted.set(record.id, counted);
  }

  /** The payload's attempt ended (or it left this process while running): its scopes have room again. */
  ended(id: string, now: number): void {
    if (this.counted.size === 0) return; // no limit counts anything: the common case, one check per end
    const counted = this.counted.get(id);
    if (!counted) return;
    this.counted.delete(id);
    for (const state of counted) {
      state.running--;
      this.wakeWaiters(state);
    }
    if (this.scopes.size > this.sizeAtPrune * 2) this.prune(now);
  }

  /** Whether any started payload is counted in a client or key scope (a partition leaving must say which of its runs ended). */
  get counting(): boolean {
    return this.counted.size > 0;
  }

  /** Partition `partition` parked work on `scope`: it is woken once the scope has room. */
  wait(scope: LimitScope, partition: number, now: number): void {
    const state = this.scopes.get(scope);
    if (!state) {
      // Nothing counts on it (the rules changed meanwhile): nothing holds it either.
      this.queueWake(partition, scope);
      this.scheduleFlush();
      return;
    }
    (state.waiters ??= new Set()).add(partition);
    const bucket = state.bucket;
    if (bucket && bucket.available(now) < 1) {
      const at = bucket.nextAt(now);
      if (at !== undefined) this.refillAt(at, scope);
    }
  }

  /** Live counts of every scope with a limit or still counting starts. */
  usage(now: number): ScopeUsage[] {
    const usage: ScopeUsage[] = [];
    for (const [scope, state] of this.scopes) {
      const tokens = state.bucket?.available(now);
      usage.push({ scope, limit: state.limit, running: state.running, tokens: tokens === undefined || !Number.isFinite(tokens) ? undefined : tokens });
    }
    return usage;
  }

  /** Stops the refill timer and the leases (the runtime is stopping). */
  dispose(): void {
    this.refillTimer?.handle.cancel();
    this.refillTimer = undefined;
    for (const state of this.scopes.values()) if (state.bucket instanceof LeasedBucket) state.bucket.dispose();
  }

  /** A rate of the whole runtime or of a type is the cluster's in a cluster; every other bucket is this process's. */
  private readonly bucketFactory: BucketFactory = (scope, perSecond, now, burst) => {
    const wiring = this.wiring;
    if (!wiring?.rates || !isShared(scope)) return localBucket(scope, perSecond, now, burst);
    return new LeasedBucket(scope, perSecond, burst, wiring.rates, wiring.clock, () => this.changed(), (error) => wiring.onLeaseError?.(error), wiring.random);
  };

  private changed(): void {
    for (const listener of this.listeners) listener();
  }

  private full(name: LimitScope, limit: Limit, now: number): boolean {
    const state = this.stateOf(name, limit, now);
    if (limit.maxRunning !== undefined && state.running >= limit.maxRunning) return true;
    return state.bucket !== undefined && state.bucket.available(now) < 1;
  }

  private stateOf(name: LimitScope, limit: Limit, now: number): ScopeState {
    let state = this.scopes.get(name);
    if (!state) this.scopes.set(name, (state = new ScopeState(name, limit, now, this.bucketFactory)));
    return state;
  }

  /** The limit of a scope by its name under the rules in force. */
  private limitOf(name: LimitScope): Limit | undefined {
    const { rules } = this;
    if (name === 'global') return rules.global;
    const colon = name.indexOf(':');
    const kind = name.slice(0, colon);
    const key = name.slice(colon + 1);
    if (kind === 'type') return rules.types.get(key);
    if (kind === 'client') return rules.clients.overrides.get(key) ?? rules.clients.default;
    return rules.keys.overrides.get(key) ?? rules.keys.default;
  }

  private refresh(now: number): void {
    const { rules } = this;
    this.keyed = rules.clients.default !== undefined || rules.clients.overrides.size > 0 || rules.keys.default !== undefined || rules.keys.overrides.size > 0;
    this.bounded = rules.global !== undefined || rules.types.size > 0;
    if (rules.global) this.stateOf('global', rules.global, now);
    for (const [type, limit] of rules.types) this.stateOf(`type:${type}`, limit, now);
  }

  private wakeWaiters(state: ScopeState): void {
    const waiters = state.waiters;
    if (!waiters || waiters.size === 0) return;
    for (const partition of waiters) this.queueWake(partition, state.name);
    waiters.clear();
    this.scheduleFlush();
  }

  /** Partition `partition` is to be told `scope` has room, with the other wakes of this turn. */
  private queueWake(partition: number, scope: LimitScope): void {
    if (!this.pending.has(partition)) this.pending.set(partition, new Set([scope]));
    else this.pending.get(partition)?.add(scope); // undefined: it is told of every scope already
  }

  private refillAt(at: number, scope: LimitScope): void {
    this.refills.insert(at, scope);
    const wiring = this.wiring;
    if (!wiring || (this.refillTimer && this.refillTimer.at <= at)) return;
    this.refillTimer?.handle.cancel();
    const handle = wiring.clock.setTimer(Math.max(0, at - wiring.clock.now()), () => this.refilled());
    this.refillTimer = { at, handle };
  }

  /** Refill times came: the scopes due wake their waiters. */
  private refilled(): void {
    this.refillTimer = undefined;
    const wiring = this.wiring;
    if (!wiring) return;
    const now = wiring.clock.now();
    for (let at = this.refills.peekKey(); at !== undefined && at <= now; at = this.refills.peekKey()) {
      const state = this.scopes.get(this.refills.pop() as LimitScope);
      if (state) this.wakeWaiters(state);
    }
    const next = this.refills.peekKey();
    if (next !== undefined) {
      const handle = wiring.clock.setTimer(Math.max(0, next - now), () => this.refilled());
      this.refillTimer = { at: next, handle };
    }
  }

  private scheduleFlush(): void {
    if (this.flushQueued || this.pending.size === 0) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const wiring = this.wiring;
      const pending = [...this.pending];
      this.pending.clear();
      if (!wiring) return;
      for (const [partition, scopes] of pending) wiring.wake(partition, scopes ? [...scopes] : undefined);
    });
  }

  /** Forgets scopes with nothing to keep (clients and keys come and go; their states must not pile up). */
  private prune(now: number): void {
    for (const [name, state] of this.scopes) {
      if (name === 'global' || name.startsWith('type:')) continue;
      if (state.idle(now)) this.scopes.delete(name);
    }
    this.sizeAtPrune = Math.max(64, this.scopes.size);
  }
}
