/**
 * A burst is not overload: queued work the pool drains within its tiers' maxWait never leads to
 * skipping or degrading; work that will miss its deadlines does (test/coordinator-reducer.test.ts
 * has the signals one by one).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PayloadEvent } from '../src/index.ts';
import { advanceUntil, coordinated, sleepOn } from './coordinator-support.ts';

test('20,000 low payloads of 2 ms submitted at once on 10 slots: none skipped, none degraded, the level stays normal', async () => {
  const { rt, clock, decisions } = coordinated({ partitions: 4, concurrency: 10, retainTerminal: 0 });
  const sleep = sleepOn(clock);
  rt.handle('low-work', () => sleep(2));
  const relief: PayloadEvent[] = [];
  rt.events.on('skipped', (e) => relief.push(e));
  rt.events.on('degraded', (e) => relief.push(e));
  let completed = 0;
  rt.events.on('completed', () => void completed++);

  await rt.submitMany(Array.from({ length: 20_000 }, () => ({ type: 'low-work', priority: 'low' as const })));
  // 4 s of work for 10 slots (of which 8 serve low: 5 s), against low's maxWait of 120 s.
  const took = await advanceUntil(rt, clock, () => completed === 20_000, 2, 30_000);

  assert.equal(completed, 20_000, 'all of it ran');
  assert.ok(took <= 6_000, `drained in ${took} ms of simulated time`);
  assert.equal(relief.length, 0, `${relief.length} skipped or degraded`);
  assert.equal(rt.coordinator?.ledger(0).total, 0);
  assert.deepEqual(decisions.filter((d) => d.action === 'level').map((d) => d.level), [], 'no level change');
  assert.ok((rt.coordinator?.state().signals.offeredLoad ?? 0) > 0, 'the coordinator saw the arrivals');
  await rt.stop();
});
