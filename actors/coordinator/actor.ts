/**
 * The coordinator actor wired to the edge: every `intervalMs` it samples the process, starts a
 * round and asks each partition for its report (partitions answer with a `report` message); it
 * performs the reducer's effects (messages to partitions, pool size, throttle, decision events,
 * the ledger's deadline timer) and answers the operator API from its committed state.
 *
 * The interval timer runs only while there is something to watch (work queued or running, a
 * ledger, a level above normal, a pin, a grown pool); the next submit starts it again. So an idle
 * runtime keeps no timer and a process that forgets `stop()` can still exit.
 */
import type { Clock, TimerHandle } from '../../src/clock.ts';
import type { ActorSystem } from '../../src/core/actor-system.ts';
import { InvalidLevelError } from '../../src/errors.ts';
import type { ExecutionPool } from '../../src/execution/pool.ts';
import { LOAD_LEVELS, type LoadLevel, type LoadSignals } from '../../src/load/levels.ts';
import type { LoadSampler } from '../../src/load/sampler.ts';
import { backgroundTimer, type BackgroundTimer } from '../../src/load/timers.ts';
import type { Decision } from '../../src/load/system-events.ts';
import type { PartitionMessage } from '../partition/messages.ts';
import type { PartitionStats } from '../partition/state.ts';
import type { ComplexityHandle } from '../complexity/actor.ts';
import type { LedgerEntry } from './ledger.ts';
import type { CoordinatorEffect, CoordinatorMessage } from './messages.ts';
import type { CoordinatorEnv } from './policy.ts';
import { reduceCoordinator } from './reducer.ts';
import { initialCoordinatorState, levelOf, type CoordinatorState } from './state.ts';
import type { PeriodicSnapshot } from '../../src/persistence/periodic-snapshot.ts';

export interface CoordinatorWiring {
  readonly system: ActorSystem;
  readonly env: CoordinatorEnv;
  readonly clock: Clock;
  readonly sampler: LoadSampler;
  readonly pool: ExecutionPool;
  readonly complexity: ComplexityHandle | undefined;
  sendPartition(partition: number, message: PartitionMessage): void;
  onDecision(decision: Decision): void;
  /** Whether any partition has work queued, running or retrying. */
  busy(): boolean;
  /** Whether this coordinator decides (in a cluster, only the elected one runs rounds). Default always. */
  active?(): boolean;
  /** A round this coordinator skipped (another one leads): its process load, for the one that leads. */
  follow?(load: ReturnType<LoadSampler['sample']>): void;
  /** Effects every node of a cluster applies to itself (pool size, low throttle, level), besides this one. */
  broadcast?(effect: Extract<CoordinatorEffect, { kind: 'resize' | 'throttle' | 'level' }>): void;
}

/** What operators and the admin server see of the load and act on. */
export interface CoordinatorApi {
  level(): LoadLevel;
  /** The level was pinned by an operator (until `release`). */
  pinned(): boolean;
  /** When the level last changed. */
  since(): number;
  signals(): LoadSignals;
  /** Newest last, at most `limit` (default all kept). */
  decisions(limit?: number): Decision[];
  /** Oldest first, at most `limit` (default 1,000); `total` counts every entry. */
  /** Oldest first: at most `limit` entries after the first `offset`. */
  ledger(limit?: number, offset?: number): { total: number; entries: LedgerEntry[] };
  pin(level: LoadLevel): void;
  release(): void;
  /** Reschedules every ledger entry now, whatever the load; resolves with how many. */
  rescheduleNow(): number;
  /** Most low-tier starts per second (undefined lifts the limit), changed without restart. */
  setLowThrottle(perSecond: number | undefined): void;
  lowThrottle(): number | undefined;
  state(): CoordinatorState;
}

/** Messages that record an operator's decision: snapshotted at once. */
const OPERATOR_MESSAGES: ReadonlySet<CoordinatorMessage['type']> = new Set(['pin', 'release', 'throttle', 'reschedule-now']);

export interface CoordinatorHandle extends CoordinatorApi {
  /**
   * At boot: applies what the last snapshot kept, then the messages held until now, and from
   * then on offers every state to `snapshots`.
   */
  restore(saved: CoordinatorState | undefined, snapshots: PeriodicSnapshot<CoordinatorState>): void;
  /** Stores the latest state now (a graceful stop). */
  flushSnapshot(): Promise<void>;
  /** Sends a message to the coordinator (counted, so `sync` can wait for it). */
  send(message: CoordinatorMessage): void;
  /** Resolves once every message sent so far has been processed. */
  sync(): Promise<void>;
  /** A partition's answer to `report`. */
  report(load: PartitionStats): void;
  /** Work arrived: make sure the interval runs. */
  poke(): void;
  /** Runs one round now (tests and the first round after boot). */
  tick(): void;
  dispose(): void;
}

export function spawnCoordinator(wiring: CoordinatorWiring): CoordinatorHandle {
  const { system, env, clock, sampler, pool, complexity } = wiring;
  let committed = initialCoordinatorState(env.partitions, pool.currentSize, pool.stats().lowThrottle, clock.now());
  let effects: CoordinatorEffect[] = [];
  let round = 0;
  let interval: BackgroundTimer | undefined;
  let deadline: { at: number; timer: TimerHandle } | undefined;
  let disposed = false;
  let sent = 0;
  let processed = 0;
  let waiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** Messages sent before boot restored the state; undefined once it has. */
  let held: CoordinatorMessage[] | undefined = [];
  let snapshots: PeriodicSnapshot<CoordinatorState> | undefined;
  sampler.start?.();

  const perform = (effect: CoordinatorEffect): void => {
    switch (effect.kind) {
      case 'send':
        return wiring.sendPartition(effect.partition, effect.message);
      case 'resize':
        wiring.broadcast?.(effect);
        return pool.resize(effect.size);
      case 'throttle':
        wiring.broadcast?.(effect);
        return pool.setLowThrottle(effect.perSecond);
      case 'decision':
        return wiring.onDecision(effect.decision);
      case 'level':
        wiring.broadcast?.(effect);
        return complexity?.setLevel(effect.level);
      case 'wake':
        deadline?.timer.cancel();
        deadline = undefined;
        if (effect.at !== undefined && !disposed) {
          const at = effect.at;
          deadline = { at, timer: backgroundTimer(clock, at - clock.now(), () => send({ type: 'expire-due', at: clock.now() })) };
        }
        return;
    }
  };

  const send = (message: CoordinatorMessage): void => {
    sent++;
    if (held) held.push(message);
    else ref.dispatch(message);
  };

  const ref = system.spawn<CoordinatorState, CoordinatorMessage>('coordinator', 'coordinator', committed, {
    receive(state, message) {
      const transition = reduceCoordinator(state, message, env);
      effects = transition.effects;
      return transition.state;
    },
    afterMessage(state, message) {
      committed = state;
      processed++;
      snapshots?.offer(state, OPERATOR_MESSAGES.has(message.type));
      if (message.type === 'restore' && watching()) arm(); // a restored pin or level needs its rounds
      if (waiters.length > 0) {
        const due = waiters.filter((w) => w.upTo <= processed);
        waiters = waiters.filter((w) => w.upTo > processed);
        for (const w of due) w.resolve();
      }
      interval?.keepAlive(state.ledger.size > 0);
      const todo = effects;
      effects = [];
      for (const effect of todo) perform(effect);
    },
    summarize: (state) => ({
      level: levelOf(state), pinned: state.pinned !== undefined, ledger: state.ledger.size, decisions: state.decisionsTotal, poolTarget: state.poolTarget,
    }),
  });

  const watching = (): boolean => {
    const s = committed;
    return wiring.busy() || s.ledger.size > 0 || levelOf(s) !== 'normal' || s.pinned !== undefined
      || s.poolTarget !== env.pool.min || s.elevated.length > 0;
  };

  const tick = (): void => {
    if (wiring.active && !wiring.active()) {
      wiring.follow?.(sampler.sample());
      return;
    }
    const at = clock.now();
    const costs = pool.drainCosts();
    if (complexity && costs.length > 0) complexity.ref.dispatch({ type: 'costs', sums: costs, at });
    const stats = pool.stats();
    round++;
    send({ type: 'round', round, at, process: sampler.sample(), pool: { size: stats.size, busy: stats.busy, byTier: stats.byTier, meanRunMs: stats.meanRunMs, held: stats.held } });
    for (let p = 0; p < env.partitions; p++) wiring.sendPartition(p, { type: 'report' });
  };

  const arm = (): void => {
    if (interval || disposed || held) return; // rounds ask partitions, which exist once boot restored them
    // Payloads waiting in the ledger are accepted work: while there are any, the round keeps the process alive.
    interval = backgroundTimer(clock, env.options.intervalMs, () => {
      interval = undefined;
      tick();
      if (watching()) arm();
    }, committed.ledger.size > 0);
  };

  return {
    send,
    restore(saved, store) {
      const waiting = held ?? [];
      held = undefined;
      snapshots = store;
      sent++;
      ref.dispatch({ type: 'restore', saved, at: clock.now() });
      for (const message of waiting) ref.dispatch(message);
    },
    flushSnapshot: () => snapshots?.flush() ?? Promise.resolve(),
    sync: () => (processed >= sent || disposed ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ upTo: sent, resolve }))),
    report: (load) => send({ type: 'report', round, load }),
    poke: arm,
    tick,
    dispose() {
      disposed = true;
      interval?.cancel();
      interval = undefined;
      deadline?.timer.cancel();
      deadline = undefined;
      sampler.stop?.();
      for (const w of waiters) w.resolve();
      waiters = [];
    },
    level: () => levelOf(committed),
    pinned: () => committed.pinned !== undefined,
    since: () => committed.levels.since,
    signals: () => committed.signals,
    decisions(limit = Number.POSITIVE_INFINITY) {
      const all = committed.decisions.toArray();
      return limit >= all.length ? all : all.slice(all.length - limit);
    },
    ledger: (limit = 1_000, offset = 0) => ({ total: committed.ledger.size, entries: committed.ledger.list(limit, offset) }),
    pin(level) {
      if (!(LOAD_LEVELS as readonly unknown[]).includes(level)) throw new InvalidLevelError(level);
      send({ type: 'pin', level, at: clock.now() });
      arm();
    },
    release() {
      send({ type: 'release', at: clock.now() });
      arm();
    },
    rescheduleNow() {
      const total = committed.ledger.size;
      send({ type: 'reschedule-now', at: clock.now() });
      return total;
    },
    setLowThrottle(perSecond) {
      send({ type: 'throttle', perSecond, at: clock.now() });
    },
    lowThrottle: () => committed.lowThrottle,
    state: () => committed,
  };
}
