/**
 * Which waiting work the execution pool grants first, across partitions: the most urgent by tier
 * and age (aging.ts), whatever partition holds it, each payload granted once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SimulatedClock } from '../src/clock.ts';
import { ExecutionPool } from '../src/execution/pool.ts';
import type { DemandEntry, Grant } from '../src/execution/protocol.ts';
import { silentLogger } from '../src/index.ts';
import { compileOptions } from '../src/options.ts';
import type { Tier } from '../src/payload.ts';

const EVEN_MAX_WAIT = { critical: 1_000, high: 1_000, medium: 1_000, low: 1_000 };

function pool(concurrency: number, partitions = 8, maxWait: Record<Tier, number> = EVEN_MAX_WAIT) {
  const clock = new SimulatedClock();
  const sent: Array<{ partition: number; grants: Grant[] }> = [];
  const p = new ExecutionPool({
    options: compileOptions({ concurrency, partitions, clock, reservedShare: 0, maxWait }),
    clock,
    logger: silentLogger,
    handlerOf: () => ({ fn: () => undefined, options: {} }),
    partitions: { grants: (partition, grants) => sent.push({ partition, grants }), outcomes: () => {} },
  });
  /** The grants sent since the last call, as `partition:tier×count`. */
  const taken = () => sent.splice(0).flatMap(({ partition, grants }) => grants.map((g) => `${partition}:${g.tier}×${g.count}`));
  return { clock, pool: p, sent, taken };
}

const entry = (tier: Tier, count: number, oldestAt: number, yielding = false): DemandEntry => ({ tier, handlerType: 'work', count, oldestAt, serveAs: tier, yielding });
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

test('the oldest work of a tier goes first, whichever partition holds it', async () => {
  const { clock, pool: p, taken } = pool(1);
  clock.advance(500);
  for (const [partition, at] of [[0, 300], [3, 100], [5, 200], [7, 50]] as const) p.setDemand(partition, [entry('medium', 1, at)]);
  const order: string[] = [];
  for (let i = 0; i < 4; i++) {
    await tick();
    const [grant] = taken();
    assert.ok(grant, `grant ${i}`);
    order.push(grant);
    const partition = Number(grant.split(':')[0]);
    p.acknowledge(partition, [{ tier: 'medium', handlerType: 'work', count: 1, serveAs: 'medium', batch: false }]);
    p.setDemand(partition, []);
    p.release('medium', 'work', 1);
  }
  assert.deepEqual(order, ['7:medium×1', '3:medium×1', '5:medium×1', '0:medium×1']);
});

test('work that waited its maxWait goes before fresher work of a higher tier; a yielding tier does not jump', async () => {
  const { clock, pool: p, taken } = pool(1);
  clock.advance(5_000);
  p.setDemand(0, [entry('high', 1, 5_000)]);
  p.setDemand(6, [entry('low', 1, 3_000, true)]); // overdue but yielding: stays in its band
  p.setDemand(4, [entry('medium', 1, 3_500)]); // overdue
  await tick();
  assert.deepEqual(taken(), ['4:medium×1']);
  p.setDemand(4, []);
  p.release('medium', 'work', 1);
  await tick();
  assert.deepEqual(taken(), ['0:high×1']);
  p.setDemand(0, []);
  p.release('high', 'work', 1);
  await tick();
  assert.deepEqual(taken(), ['6:low×1']);
});

test('a demand that changes its head is reordered; what is granted and not yet taken is not granted again', async () => {
  const { clock, pool: p, taken } = pool(2);
  clock.advance(1_000);
  p.setDemand(1, [entry('high', 3, 900)]);
  p.setDemand(2, [entry('high', 3, 800)]);
  await tick();
  assert.deepEqual(taken(), ['2:high×2']);
  // Partition 2 repeats its demand before taking its grant: one payload of it is still free.
  p.setDemand(2, [entry('high', 3, 800)]);
  p.release('high', 'work', 2);
  await tick();
  assert.deepEqual(taken(), ['2:high×1', '1:high×1']);
  // Partition 1's queue head is now older than anything else.
  p.setDemand(1, [entry('high', 3, 100)]);
  p.release('high', 'work', 2);
  await tick();
  assert.deepEqual(taken(), ['1:high×2']);
  assert.equal(p.stats().busy, 2);
});

test('overdue work goes earliest deadline first: one slot, high work arriving faster than it is served, a low payload still starts', async () => {
  // high maxWait 500 ms, low 2 s; a high payload every 5 ms, each taking 10 ms of the one slot.
  const { clock, pool: p, taken } = pool(1, 2, { critical: 250, high: 500, medium: 1_000, low: 2_000 });
  const start = clock.now();
  const highArrivals: number[] = [start];
  let nextArrival = start + 5;
  p.setDemand(1, [entry('low', 1, start)]);
  let lowStartedAfter: number | undefined;
  let highServed = 0;
  while (lowStartedAfter === undefined && clock.now() - start < 15_000) {
    p.setDemand(0, [entry('high', highArrivals.length, highArrivals[0] as number)]);
    await tick();
    const [grant] = taken();
    assert.ok(grant, 'the free slot is granted');
    if (grant.startsWith('1:')) {
      lowStartedAfter = clock.now() - start;
      break;
    }
    assert.equal(grant, '0:high×1');
    highArrivals.shift();
    highServed++;
    p.acknowledge(0, [{ tier: 'high', handlerType: 'work', count: 1, serveAs: 'high', batch: false }]);
    clock.advance(10);
    for (; nextArrival <= clock.now(); nextArrival += 5) highArrivals.push(nextArrival);
    p.release('high', 'work', 1);
  }
  assert.ok(lowStartedAfter !== undefined, `the low payload never started in 15 s (${highServed} high payloads went first)`);
  // Its deadline is 2 s; the high head's (queued at + 500 ms) falls behind it after ~3 s, as the high backlog grows.
  assert.ok(lowStartedAfter >= 2_000 && lowStartedAfter <= 3_100, `started after ${lowStartedAfter} ms`);
  assert.ok(highServed > 200, 'high work kept the slot until then');
});

test('a fresh client\'s entry gets the next slot before older work of its tier, one slot for it; once that work is overdue, deadlines go first', async () => {
  const { clock, pool: p, taken } = pool(1, 4, { critical: 1_000, high: 1_000, medium: 30_000, low: 1_000 });
  const t0 = clock.now();
  clock.advance(10_000);
  const shared = (count: number, at: number, fresh: boolean): DemandEntry => ({ ...entry('medium', count, t0 + at), clients: 2, fresh, nextClient: fresh ? 'B' : 'A' });
  // A's flood is older everywhere; partition 3's next payload is a fresh client's (B's).
  p.setDemand(0, [shared(50, 1_000, false)]);
  p.setDemand(1, [shared(50, 1_000, false)]);
  p.setDemand(3, [shared(50, 9_000, true)]);
  await tick();
  assert.deepEqual(taken(), ['3:medium×1'], 'the fresh client first, one slot');
  const done = (partition: number, fresh: boolean, oldestAt: number) => {
    p.acknowledge(partition, [{ tier: 'medium', handlerType: 'work', count: 1, serveAs: 'medium', batch: false }]);
    p.setDemand(partition, [shared(49, oldestAt, fresh)]);
    p.release('medium', 'work', 1);
  };
  done(3, false, 9_000);
  await tick();
  assert.deepEqual(taken(), ['0:medium×1'], 'then by age again');
  done(0, false, 1_000);
  // 30 s later the flood's oldest is past medium's maxWait: a fresh entry no longer jumps it.
  clock.advance(22_000);
  p.setDemand(3, [shared(49, 9_000, true)]);
  await tick();
  assert.deepEqual(taken(), ['1:medium×1']);
});

test('a fresh client alone in its partition (another client\'s flood sharded elsewhere) goes first, one slot for its next payload; the same client\'s refilled partition does not', async () => {
  const { clock, pool: p, taken } = pool(4, 4, { critical: 1_000, high: 1_000, medium: 30_000, low: 1_000 });
  const t0 = clock.now();
  clock.advance(10_000);
  p.setDemand(0, [{ ...entry('medium', 50, t0 + 1_000), nextClient: 'A' }]); // a flood sharded to one partition
  p.setDemand(3, [{ ...entry('medium', 2, t0 + 9_000), fresh: true, nextClient: 'B' }]); // another client's two, just queued
  p.setDemand(2, [{ ...entry('medium', 2, t0 + 8_000), fresh: true, nextClient: 'A' }]); // A's own, in a partition it had left
  await tick();
  assert.deepEqual(taken(), ['3:medium×1', '0:medium×3']);
});
