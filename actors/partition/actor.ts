/**
 * The partition actor: the reducer from reducer.ts, wired to the edge. After each message it
 * journals what changed, performs the effects the reducer returned once the journal entry is
 * stored, publishes its demand to the execution pool, and keeps one clock timer for its next
 * due timer.
 */
import type { TimerHandle } from '../../src/clock.ts';
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import { StoreUnavailableError } from '../../src/errors.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { ExecutionPool } from '../../src/execution/pool.ts';
import type { JournalWriter } from '../../src/persistence/journal-writer.ts';
import { deltaOf, encodeSnapshot, PARTITION_SNAPSHOT_VERSION } from './codec.ts';
import type { PartitionEffect, PartitionMessage } from './messages.ts';
import { reducePartition, type PartitionEnv } from './reducer.ts';
import { demandOf, initialPartitionState, nextWakeOf, partitionStats, type PartitionState } from './state.ts';

/** How a partition journals and snapshots. */
export interface PartitionDurability {
  readonly writer: JournalWriter;
  /** The persistence key: journal and snapshot name. */
  readonly key: string;
  /** Seq of the last journal entry already stored (from recovery). */
  readonly journalSeq: number;
  /** Take a snapshot every this many journal entries. */
  readonly snapshotEvery: number;
  /** Stores a snapshot; the caller reports failures (they are never swallowed). */
  snapshot(key: string, seq: number, version: number, data: unknown): void;
}

export interface PartitionWiring {
  readonly system: ActorSystem;
  readonly index: number;
  readonly env: PartitionEnv;
  readonly pool: ExecutionPool;
  readonly publish: (event: PayloadEvent) => void;
  readonly initialState?: PartitionState;
  readonly durability?: PartitionDurability;
}

export interface PartitionHandle {
  readonly ref: ActorRef<PartitionMessage>;
  /** The last committed state (read-only; for drain checks and inspection). */
  readonly state: () => PartitionState;
  dispose(): void;
}

export function spawnPartition(wiring: PartitionWiring): PartitionHandle {
  const { system, index, env, pool, publish, durability } = wiring;
  const clock = env.options.clock;
  let effects: PartitionEffect[] = [];
  let touched: ReadonlySet<string> = new Set();
  let committed = wiring.initialState ?? initialPartitionState(index);
  let wake: { at: number; timer: TimerHandle } | undefined;
  let journalSeq = durability?.journalSeq ?? 0;
  let sinceSnapshot = 0;

  const perform = (effect: PartitionEffect): void => {
    switch (effect.kind) {
      case 'event':
        publish(effect.event);
        return;
      case 'run':
        pool.start(effect.order);
        return;
      case 'release':
        pool.release(effect.tier, effect.handlerType, effect.count);
        return;
      case 'abort':
        pool.abort(effect.id, effect.reason);
        return;
      case 'reply':
        effect.deliver();
        return;
    }
  };

  /** The store refused the entry: refuse the submits it accepted and undo them; keep the rest for the retry. */
  const refuse = (todo: PartitionEffect[], error: unknown): PartitionEffect[] => {
    const undo: string[] = [];
    const kept: PartitionEffect[] = [];
    for (const effect of todo) {
      if (effect.kind === 'reply' && effect.refuse) {
        effect.refuse(new StoreUnavailableError(error));
        undo.push(...(effect.accepted ?? []));
      } else if (!(effect.kind === 'event' && effect.event.type === 'accepted')) {
        kept.push(effect);
      }
    }
    if (undo.length > 0) ref.dispatch({ type: 'rollback', ids: undo });
    return kept;
  };

  const journal = (state: PartitionState, todo: PartitionEffect[], changed: ReadonlySet<string>): void => {
    if (!durability) {
      for (const effect of todo) perform(effect);
      return;
    }
    const seq = ++journalSeq;
    let held = todo;
    const snapshotDue = ++sinceSnapshot >= durability.snapshotEvery;
    if (snapshotDue) sinceSnapshot = 0;
    durability.writer.append({
      entry: { key: durability.key, seq, data: deltaOf(state, changed) },
      durable: () => {
        for (const effect of held) perform(effect);
        // The state is immutable, so the snapshot of this very transition is taken after it is stored.
        if (snapshotDue) durability.snapshot(durability.key, seq, PARTITION_SNAPSHOT_VERSION, encodeSnapshot(state));
      },
      failed: (error) => {
        held = refuse(held, error);
      },
    });
  };

  const scheduleWake = (state: PartitionState): void => {
    const at = nextWakeOf(state);
    if (at === wake?.at) return;
    wake?.timer.cancel();
    wake = at === undefined ? undefined : { at, timer: clock.setTimer(at - clock.now(), () => {
      wake = undefined;
      ref.dispatch({ type: 'tick' });
    }) };
  };

  const ref = system.spawn<PartitionState, PartitionMessage>(`partition-${index}`, 'partition', committed, {
    receive(state, message) {
      const transition = reducePartition(state, message, env);
      effects = transition.effects;
      touched = transition.touched;
      return transition.state;
    },
    afterMessage(state, message) {
      committed = state;
      const todo = effects;
      const changed = touched;
      effects = [];
      if (message.type === 'grant') pool.acknowledge(index, message.grants);
      if (changed.size === 0) for (const effect of todo) perform(effect);
      else journal(state, todo, changed);
      if (message.type !== 'get') {
        pool.setDemand(index, demandOf(state));
        scheduleWake(state);
      }
    },
    summarize: (state) => ({ ...partitionStats(state, clock.now()) }),
  });

  return {
    ref,
    state: () => committed,
    dispose() {
      wake?.timer.cancel();
      wake = undefined;
    },
  };
}
