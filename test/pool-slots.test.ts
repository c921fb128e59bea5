import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StuckReport } from '../src/index.ts';
import { compileOptions } from '../src/options.ts';
import { ExecutionPool } from '../src/execution/pool.ts';
import type { DemandEntry, Grant } from '../src/execution/protocol.ts';
import { SimulatedClock } from '../src/clock.ts';
import { silentLogger } from '../src/index.ts';
import { advance, deferred, setup } from './helpers.ts';

describe('execution slots', () => {
  test('stuck detection: a handler still running past its timeout plus grace is reported; its slot was replaced at the timeout', async () => {
    const { rt, clock } = setup({ concurrency: 1, pool: { stuckGraceMs: 2_000 } });
    const stuck: StuckReport[] = [];
    rt.events.on('pool.stuck', (r) => stuck.push(r));
    const late = deferred();
    rt.handle('hang', () => new Promise(() => {}), { timeout: 1_000, retries: 0 });
    rt.handle('slow', () => late.promise, { timeout: 1_000, retries: 0 });
    rt.handle('fast', () => 'done');
    const hung = await rt.submit({ type: 'hang' });
    await rt.idle();
    const startedAt = clock.now();
    await advance(rt, clock, 1_000);
    assert.equal((await rt.get(hung))?.error?.code, 'TIMEOUT');
    const fast = await rt.submit({ type: 'fast' });
    assert.equal(await rt.waitFor(fast), 'done', 'the capacity went on at the timeout');
    assert.deepEqual(rt.slots().map((s) => s.state).sort(), ['detached', 'idle']);
    await advance(rt, clock, 1_999);
    assert.equal(stuck.length, 0, 'within the grace period');
    await advance(rt, clock, 1);
    assert.equal(stuck.length, 1);
    assert.deepEqual([stuck[0]?.id, stuck[0]?.handlerType, stuck[0]?.timeout, stuck[0]?.startedAt], [hung, 'hang', 1_000, startedAt]);
    assert.deepEqual([rt.stats().pool.stuck, rt.stats().pool.stuckNow], [1, 1]);
    const stuckSlot = rt.slots().find((s) => s.state === 'stuck');
    assert.equal(stuckSlot?.current, hung);
    assert.equal(stuckSlot?.failed, 1);

    // A handler that honours its timeout late, but within the grace, is not reported.
    const slow = await rt.submit({ type: 'slow' });
    await rt.idle();
    await advance(rt, clock, 1_000);
    assert.equal((await rt.get(slow))?.status, 'failed');
    await advance(rt, clock, 500);
    late.resolve('late');
    await rt.idle(); // its continuation runs before the clock moves on
    await advance(rt, clock, 3_000);
    assert.equal(stuck.length, 1, 'it settled within the grace: not stuck');
    assert.equal(rt.slots().filter((s) => s.state === 'detached').length, 0, 'its slot left once it settled');
    await rt.stop();
  });

  test('per-slot counters: completed, failed, mean run time, last active, state', async () => {
    const { rt, clock } = setup({ concurrency: 2 });
    const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
    rt.handle('job', async (ms: number) => {
      await sleep(ms);
      if (ms === 300) throw new Error('no');
    }, { retries: 0 });
    await rt.submitMany([100, 300].map((ms) => ({ type: 'job', data: ms, priority: 'high' as const })));
    await rt.idle();
    assert.deepEqual(rt.slots().map((s) => s.state), ['running', 'running']);
    await advance(rt, clock, 100);
    await advance(rt, clock, 200);
    const slots = rt.slots().sort((a, b) => a.id - b.id);
    assert.deepEqual(slots.map((s) => [s.state, s.completed, s.failed, s.meanRunMs, s.current]), [['idle', 1, 0, 100, undefined], ['idle', 0, 1, 300, undefined]]);
    assert.deepEqual(slots.map((s) => s.lastActiveAt - clock.now()), [-200, 0]);
    assert.ok(Math.abs(rt.stats().pool.meanRunMs - 200) < 1e-9, 'pool mean run time');
    await rt.stop();
  });
});

describe('slots of a partition that leaves', () => {
  const demand = (count: number, now: number): DemandEntry[] => [{ tier: 'high', handlerType: 'work', count, oldestAt: now, serveAs: 'high', yielding: false }];

  function poolWithGrants() {
    const clock = new SimulatedClock();
    const sent: Array<{ partition: number; grants: Grant[] }> = [];
    const pool = new ExecutionPool({
      options: compileOptions({ concurrency: 4, partitions: 2, clock }),
      clock,
      logger: silentLogger,
      handlerOf: () => ({ fn: () => undefined, options: {} }),
      partitions: { grants: (partition, grants) => sent.push({ partition, grants }), outcomes: () => {} },
    });
    return { clock, pool, sent };
  }

  test('grants a partition never took come back when it leaves, and a late acknowledgement of them changes nothing', async () => {
    const { clock, pool, sent } = poolWithGrants();
    pool.setDemand(0, demand(3, clock.now()));
    await Promise.resolve();
    assert.deepEqual(sent.map((s) => [s.partition, s.grants.map((g) => g.count)]), [[0, [3]]]);
    assert.equal(pool.stats().busy, 3);

    // Partition 0 leaves before its actor took the grant (its lease was lost mid-write).
    pool.reclaim(0);
    assert.equal(pool.stats().busy, 0, 'its slots are free again');
    pool.setDemand(1, demand(4, clock.now()));
    await Promise.resolve();
    assert.deepEqual(sent.slice(1).map((s) => [s.partition, s.grants.map((g) => g.count)]), [[1, [4]]], 'the other partition gets every slot');

    pool.acknowledge(0, sent[0]!.grants);
    pool.release('high', 'work', 0);
    assert.equal(pool.stats().busy, 4, 'the retired actor\'s acknowledgement frees nothing twice');
    pool.acknowledge(1, sent[1]!.grants);
    pool.release('high', 'work', 4);
    assert.equal(pool.stats().busy, 0);
  });
});
