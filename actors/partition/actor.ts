/**
 * The partition actor: the reducer from reducer.ts, wired to the edge. After each message it
 * performs the effects the reducer returned, publishes its demand to the execution pool, and keeps
 * one clock timer for its next due timer.
 */
import type { ActorRef, ActorSystem } from '../../src/core/actor-system.ts';
import type { PayloadEvent } from '../../src/events.ts';
import type { ExecutionPool } from '../../src/execution/pool.ts';
import type { TimerHandle } from '../../src/clock.ts';
import type { PartitionEffect, PartitionMessage } from './messages.ts';
import { reducePartition, type PartitionEnv } from './reducer.ts';
import { demandOf, initialPartitionState, nextWakeOf, partitionStats, type PartitionState } from './state.ts';

export interface PartitionWiring {
  readonly system: ActorSystem;
  readonly index: number;
  readonly env: PartitionEnv;
  readonly pool: ExecutionPool;
  readonly publish: (event: PayloadEvent) => void;
  readonly initialState?: PartitionState;
}

export interface PartitionHandle {
  readonly ref: ActorRef<PartitionMessage>;
  /** The last committed state (read-only; for drain checks and inspection). */
  readonly state: () => PartitionState;
  dispose(): void;
}

export function spawnPartition(wiring: PartitionWiring): PartitionHandle {
  const { system, index, env, pool, publish } = wiring;
  const clock = env.options.clock;
  let effects: PartitionEffect[] = [];
  let committed = wiring.initialState ?? initialPartitionState(index);
  let wake: { at: number; timer: TimerHandle } | undefined;

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
      return transition.state;
    },
    afterMessage(state, message) {
      committed = state;
      const todo = effects;
      effects = [];
      if (message.type === 'grant') pool.acknowledge(index, message.grants);
      for (const effect of todo) perform(effect);
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
