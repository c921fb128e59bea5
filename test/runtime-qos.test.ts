import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { QueueFullError, systemClock, type Runtime } from '../src/index.ts';
import { AGE_GRAIN_SHARE } from '../src/execution/demand-index.ts';
import { keyFor } from './coordinator-support.ts';
import { deferred, recordEvents, setup, totals, track } from './helpers.ts';

/** A 'job' handler whose runs block until released by hand; records start order by data. */
function blockingJobs(rt: Runtime) {
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  let running = 0;
  rt.handle('job', (name: string) => {
    started.push(name);
    running++;
    const gate = deferred<string>();
    gates.set(name, () => ((running--), gate.resolve(name)));
    return gate.promise;
  });
  const release = (name: string) => {
    const open = gates.get(name);
    assert.ok(open, `${name} is not running`);
    gates.delete(name);
    open();
  };
  return { started, release, running: () => running };
}

describe('reserved capacity', () => {
  test('a flood of low work leaves 20% of the slots to a high payload, which starts at once', async () => {
    const { rt } = setup({ concurrency: 10 });
    const jobs = blockingJobs(rt);
    await rt.submitMany(Array.from({ length: 100 }, (_, i) => ({ type: 'job', data: `low${i}`, priority: 'low' as const })));
    await rt.idle();
    assert.equal(jobs.running(), 8, 'low work takes at most 8 of 10 slots');
    await rt.submitMany(Array.from({ length: 20 }, (_, i) => ({ type: 'job', data: `med${i}`, priority: 'medium' as const })));
    await rt.idle();
    assert.equal(jobs.running(), 8, 'medium is below the reserved line too');
    const high = await rt.submit({ type: 'job', data: 'high', priority: 'high' });
    await rt.idle();
    assert.ok(jobs.started.includes('high'), 'the high payload started at once');
    assert.equal((await rt.get(high))?.status, 'running');
    await rt.submit({ type: 'job', data: 'critical', priority: 'critical' });
    await rt.idle();
    assert.ok(jobs.started.includes('critical'));
    assert.equal(jobs.running(), 10);
    jobs.release('high');
    jobs.release('low0');
    await rt.idle();
    assert.equal(jobs.running(), 9, 'a freed low slot goes to waiting work, the reserved one stays free');
    assert.equal(rt.stats().pool.byTier.low + rt.stats().pool.byTier.medium, 8);
    await rt.stop();
  });

  test('higher tiers may use every slot', async () => {
    const { rt } = setup({ concurrency: 10 });
    const jobs = blockingJobs(rt);
    await rt.submitMany(Array.from({ length: 30 }, (_, i) => ({ type: 'job', data: `h${i}`, priority: 'high' as const })));
    await rt.idle();
    assert.equal(jobs.running(), 10);
    await rt.stop();
  });

  test('reservedShare 0 lets low work use every slot', async () => {
    const { rt } = setup({ concurrency: 10, reservedShare: 0 });
    const jobs = blockingJobs(rt);
    await rt.submitMany(Array.from({ length: 30 }, (_, i) => ({ type: 'job', data: `l${i}`, priority: 'low' as const })));
    await rt.idle();
    assert.equal(jobs.running(), 10);
    await rt.stop();
  });
});

describe('aging', () => {
  test('a low payload past maxWait is served before fresher high work', async () => {
    const { rt, clock } = setup({ concurrency: 1, partitions: 4, maxWait: { low: 1000 } });
    const jobs = blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'H0', priority: 'high' });
    await rt.submit({ type: 'job', data: 'L', priority: 'low' });
    await rt.submit({ type: 'job', data: 'H1', priority: 'high' });
    await rt.idle();
    for (let i = 1; i <= 4; i++) {
      clock.advance(300);
      await rt.submit({ type: 'job', data: `H${i + 1}`, priority: 'high' }); // a steady supply of fresh high work
      await rt.idle();
      jobs.release(jobs.started.at(-1) as string);
      await rt.idle();
    }
    // Until t=900 L (waited < 1000 ms) lost to high work; at t=1200 it was overdue and won.
    assert.deepEqual(jobs.started, ['H0', 'H1', 'H2', 'H3', 'L']);
    await rt.stop();
  });
});

describe('FIFO within a tier', () => {
  test('same partition: submit order, across submits and submitMany', async () => {
    const { rt } = setup({ concurrency: 1 });
    const jobs = blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'blocker', shardKey: 's' });
    for (const name of ['a', 'b', 'c']) await rt.submit({ type: 'job', data: name, shardKey: 's' });
    await rt.submitMany(['d', 'e', 'f'].map((data) => ({ type: 'job', data, shardKey: 's' })));
    await rt.idle();
    for (const name of ['blocker', 'a', 'b', 'c', 'd', 'e']) {
      jobs.release(name);
      await rt.idle();
    }
    assert.deepEqual(jobs.started, ['blocker', 'a', 'b', 'c', 'd', 'e', 'f']);
    await rt.stop();
  });

  test('across partitions: the longest-waiting goes first (to the age grain)', async () => {
    const { rt, clock } = setup({ concurrency: 1, partitions: 8 });
    const jobs = blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'blocker' });
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    for (const [i, name] of names.entries()) {
      clock.advance(30_000 * AGE_GRAIN_SHARE); // one grain of medium's default maxWait
      await rt.submit({ type: 'job', data: name, shardKey: `key-${(i * 7) % 8}` });
    }
    await rt.idle();
    for (const name of ['blocker', ...names.slice(0, -1)]) {
      jobs.release(name);
      await rt.idle();
    }
    assert.deepEqual(jobs.started, ['blocker', ...names]);
    await rt.stop();
  });

  test('across partitions, work queued within one age grain takes turns: a flood taken in over a few ms is not drained partition by partition', async () => {
    const { rt, clock } = setup({ concurrency: 1, partitions: 4 });
    const jobs = blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'blocker', shardKey: keyFor(0, 4) });
    // Three payloads in each of four partitions, each partition's taken in 2 ms after the last's.
    for (let p = 0; p < 4; p++) {
      clock.advance(2);
      await rt.submitMany([0, 1, 2].map((n) => ({ type: 'job', data: `${p}.${n}`, shardKey: keyFor(p, 4) })));
    }
    await rt.idle();
    for (let served = 0; served < 5; served++) {
      jobs.release(jobs.started.at(-1) as string);
      await rt.idle();
    }
    const partitionsServed = new Set(jobs.started.slice(1).map((name) => name.split('.')[0]));
    assert.equal(partitionsServed.size, 4, `the first five after the blocker came from every partition: ${jobs.started.join(' ')}`);
    await rt.stop();
  });
});

describe('overflow policies', () => {
  const base = { concurrency: 1, partitions: 1, tierCapacity: { critical: 2, high: 2, medium: 2, low: 2 } } as const;

  test('reject: a full tier rejects with QUEUE_FULL; other tiers still accept', async () => {
    const { rt } = setup({ ...base, overflow: 'reject' });
    blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'blocker', priority: 'critical' });
    await rt.idle();
    await rt.submit({ type: 'job', data: 'l1', priority: 'low' });
    await rt.submit({ type: 'job', data: 'l2', priority: 'low' });
    await assert.rejects(rt.submit({ type: 'job', data: 'l3', priority: 'low' }), (e: unknown) =>
      e instanceof QueueFullError && e.code === 'QUEUE_FULL' && e.tier === 'low' && e.partition === 0);
    await rt.submit({ type: 'job', data: 'h1', priority: 'high' });
    assert.equal(totals(rt).accepted, 4);
    await rt.stop();
  });

  test('drop-lowest: evicts the oldest of the lowest non-empty tier below; otherwise rejects', async () => {
    const { rt } = setup({ ...base, overflow: 'drop-lowest' });
    const events = recordEvents(rt);
    const jobs = blockingJobs(rt);
    rt.handle('other', () => 'x');
    await rt.submit({ type: 'job', data: 'blocker', priority: 'critical' });
    await rt.idle();
    const l1 = await rt.submit({ type: 'other', priority: 'low' }); // oldest low, another handler type
    const l2 = await rt.submit({ type: 'job', data: 'l2', priority: 'low' });
    const m1 = await rt.submit({ type: 'job', data: 'm1', priority: 'medium' });
    await rt.submit({ type: 'job', data: 'm2', priority: 'medium' });
    await rt.submit({ type: 'job', data: 'h1', priority: 'high' });
    await rt.submit({ type: 'job', data: 'h2', priority: 'high' });
    const waitL1 = rt.waitFor(l1);
    await rt.submit({ type: 'job', data: 'h3', priority: 'high' });
    assert.deepEqual(events.of('skipped').map((e) => e.id), [l1]);
    await assert.rejects(waitL1, { code: 'SKIPPED' });
    assert.equal((await rt.get(l1))?.status, 'skipped');
    await rt.submit({ type: 'job', data: 'h4', priority: 'high' });
    await rt.submit({ type: 'job', data: 'h5', priority: 'high' });
    assert.deepEqual(events.of('skipped').map((e) => e.id), [l1, l2, m1], 'low first, then medium');
    // Medium newcomer: low is empty now, so it has room; fill low and overflow it.
    await rt.submit({ type: 'job', data: 'l3', priority: 'low' });
    await rt.submit({ type: 'job', data: 'l4', priority: 'low' });
    await assert.rejects(rt.submit({ type: 'job', data: 'l5', priority: 'low' }), { code: 'QUEUE_FULL' });
    assert.equal(events.of('skipped').length, 3, 'nothing lower than low to evict');
    const t = totals(rt);
    assert.equal(t.accepted, 12);
    assert.equal(t.skipped, 3);
    assert.equal(jobs.started.length, 1);
    await rt.stop();
  });

  test('wait: the submit resolves once room frees, or rejects after overflowWaitMs', async () => {
    const { rt, clock } = setup({ ...base, overflow: 'wait', overflowWaitMs: 1000 });
    const events = recordEvents(rt);
    const jobs = blockingJobs(rt);
    await rt.submit({ type: 'job', data: 'b1', priority: 'low' });
    await rt.idle();
    await rt.submit({ type: 'job', data: 'q1', priority: 'low' });
    await rt.submit({ type: 'job', data: 'q2', priority: 'low' });
    const waiting = track(rt.submit({ type: 'job', data: 'w1', priority: 'low' }));
    await rt.idle();
    assert.equal(waiting.settled(), false, 'parked while the tier is full');
    assert.equal(totals(rt).accepted, 3);
    jobs.release('b1'); // q1 starts, room frees
    await rt.idle();
    assert.equal(waiting.settled(), true);
    const id = waiting.value() as string;
    assert.equal((await rt.get(id))?.status, 'queued');
    assert.equal(events.of('accepted', id).length, 1);

    const expiring = track(rt.submit({ type: 'job', data: 'w2', priority: 'low' }));
    await rt.idle();
    clock.advance(999);
    await rt.idle();
    assert.equal(expiring.settled(), false);
    clock.advance(1);
    await rt.idle();
    assert.equal(expiring.settled(), true);
    assert.ok(expiring.error() instanceof QueueFullError);
    assert.equal((expiring.error() as QueueFullError).code, 'QUEUE_FULL');
    assert.equal(totals(rt).accepted, 4, 'the expired submit was never accepted');
    assert.equal(events.of('accepted').length, 4);
    await rt.stop();
  });
});

describe('timers', () => {
  test('delay and runAt (Date, epoch ms, ISO string) start when due, not before, in due order', async () => {
    const { rt, clock } = setup({ concurrency: 10 });
    const t0 = clock.now();
    const startedAt = new Map<string, number>();
    rt.handle('job', (name: string) => void startedAt.set(name, clock.now()));
    await rt.submit({ type: 'job', data: 'iso', runAt: new Date(t0 + 4000).toISOString() });
    await rt.submit({ type: 'job', data: 'epoch', runAt: t0 + 3000 });
    await rt.submit({ type: 'job', data: 'date', runAt: new Date(t0 + 2000) });
    await rt.submit({ type: 'job', data: 'delay', delay: 1000 });
    await rt.submit({ type: 'job', data: 'now', delay: 0 });
    await rt.submit({ type: 'job', data: 'past', runAt: t0 - 5000 });
    await rt.idle();
    assert.deepEqual([...startedAt.keys()].sort(), ['now', 'past']);
    const due: Array<[string, number]> = [['delay', 1000], ['date', 2000], ['epoch', 3000], ['iso', 4000]];
    for (const [name, at] of due) {
      clock.advance(t0 + at - 1 - clock.now());
      await rt.idle();
      assert.equal(startedAt.has(name), false, `${name} not before ${at}`);
      clock.advance(1);
      await rt.idle();
      assert.equal(startedAt.get(name), t0 + at, `${name} at ${at}`);
    }
    await rt.stop();
  });

  test('with one slot and one big clock jump, due payloads still start in due order (across partitions, to the age grain)', async () => {
    const { rt, clock } = setup({ concurrency: 1, partitions: 8 });
    const jobs = blockingJobs(rt);
    // Due one age grain of medium apart or more: within a grain, partitions take turns instead.
    const grain = 30_000 * AGE_GRAIN_SHARE;
    const delays = [7, 1, 5, 3, 9, 2].map((n) => n * grain);
    for (const d of delays) await rt.submit({ type: 'job', data: `d${d}`, delay: d });
    await rt.idle();
    assert.deepEqual(jobs.started, []);
    clock.advance(10 * grain);
    await rt.idle();
    const order = [...delays].sort((a, b) => a - b).map((d) => `d${d}`);
    for (const name of order.slice(0, -1)) {
      jobs.release(name);
      await rt.idle();
    }
    assert.deepEqual(jobs.started, order);
    await rt.stop();
  });

  test('the system clock arms a timer beyond setTimeout\'s range (~24.8 days) in legs, never early', (t) => {
    const MAX = 2 ** 31 - 1;
    interface Armed { fn: () => void; ms: number; cleared: boolean }
    const armed: Armed[] = [];
    t.mock.method(globalThis, 'setTimeout', (fn: () => void, ms: number) => {
      const handle: Armed = { fn, ms, cleared: false };
      armed.push(handle);
      return handle;
    });
    t.mock.method(globalThis, 'clearTimeout', (handle: Armed | undefined) => void (handle && (handle.cleared = true)));
    // The clock moves as each armed leg runs out (the timer checks it before firing); whole ms, so the sums are exact.
    let now = 0;
    t.mock.method(performance, 'now', () => now);
    let fired = 0;
    systemClock.setTimer(2 * MAX + 10, () => fired++); // e.g. a runAt 50 days ahead
    let elapsed = 0;
    while (fired === 0) {
      const next = armed.shift();
      assert.ok(next, 'a timer is armed until it fires');
      assert.ok(next.ms <= MAX, `setTimeout got ${next.ms} ms: Node would clamp it to 1 ms and fire at once`);
      elapsed += next.ms;
      now += next.ms;
      next.fn();
    }
    assert.equal(elapsed, 2 * MAX + 10);
    const late = systemClock.setTimer(MAX + 5, () => fired++);
    const leg = armed.shift();
    now += leg?.ms ?? 0;
    leg?.fn(); // the first leg passes; the second is armed
    late.cancel();
    assert.equal(armed.length, 1);
    assert.equal(armed[0]?.cleared, true, 'cancel clears the leg currently armed');
    assert.equal(fired, 1);
  });
});
