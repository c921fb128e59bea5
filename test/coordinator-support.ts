/**
 * Helpers for coordination tests (not a test file): a runtime on a simulated clock with a scripted
 * load sampler, decision recording, shard keys for a given partition, simulated sleeps.
 */
import { partitionOf } from '../src/core/hash.ts';
import { ScriptedLoadSampler, type CreateRuntimeOptions, type Decision, type Runtime } from '../src/index.ts';
import type { SimulatedClock } from '../src/clock.ts';
import { setup } from './helpers.ts';

/** A runtime whose coordinator decides every 100 ms on a scripted sampler, with a short dwell. */
export function coordinated(options: CreateRuntimeOptions = {}) {
  const sampler = new ScriptedLoadSampler();
  const { coordinator } = options;
  const { rt, clock } = setup({
    ...options,
    coordinator: coordinator === false ? false : { intervalMs: 100, stepDownAfterMs: 300, ...coordinator, sampler },
  });
  const decisions: Decision[] = [];
  rt.events.on('coordinator.decision', (d) => decisions.push(d));
  return { rt, clock, sampler, decisions };
}

/** A shard key that lands on `partition`. */
export function keyFor(partition: number, partitions: number, salt = ''): string {
  for (let i = 0; ; i++) if (partitionOf(`${salt}k${i}`, partitions) === partition) return `${salt}k${i}`;
}

/** A promise that resolves after `ms` of simulated time. */
export const sleepOn = (clock: SimulatedClock) => (ms: number): Promise<void> => new Promise((resolve) => clock.setTimer(ms, resolve));

/** Advances in steps of `step` ms until `until()` holds or `limit` ms passed; returns the time taken. */
export async function advanceUntil(rt: Runtime, clock: SimulatedClock, until: () => boolean, step = 50, limit = 60_000): Promise<number> {
  let spent = 0;
  while (!until() && spent < limit) {
    clock.advance(step);
    await rt.idle();
    spent += step;
  }
  return spent;
}
