import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerContext } from '../src/index.ts';
import { advance, deferred, recordEvents } from './helpers.ts';
import { advanceUntil, coordinated, keyFor } from './coordinator-support.ts';

describe('coordinator moves work', () => {
  test('transfer: queued payloads move from a hot partition to an idle one through both reducers; lookups follow; keyed ones stay', async () => {
    const { rt, clock, decisions } = coordinated({
      partitions: 2, concurrency: 2, tierCapacity: { low: 10 }, coordinator: { transfer: { batchSize: 4 } },
    });
    const gates = [deferred(), deferred()];
    rt.handle('gate', (i: number) => gates[i]?.promise);
    const order: string[] = [];
    rt.handle('job', (_: unknown, ctx: HandlerContext) => void order.push(ctx.id));
    const events = recordEvents(rt);
    // Both slots busy in partition 0; partition 1 is idle.
    const k0 = keyFor(0, 2);
    await rt.submitMany([0, 1].map((i) => ({ type: 'gate', data: i, priority: 'critical' as const, shardKey: k0 })));
    // Keyless low payloads: keep those that land in partition 0, cancel the rest.
    const hot: string[] = [];
    while (hot.length < 6) {
      const id = await rt.submit({ type: 'job', priority: 'low' });
      if (id.endsWith('.0')) hot.push(id);
      else await rt.cancel(id);
    }
    const keyed = await rt.submitMany([1, 2].map(() => ({ type: 'job', priority: 'low' as const, shardKey: k0 })));
    await rt.idle();
    assert.deepEqual(rt.stats().partitions.map((p) => p.depth.low), [8, 0]);

    await advance(rt, clock, 100);
    const transfer = decisions.find((d) => d.action === 'transfer');
    assert.deepEqual([transfer?.partition, transfer?.to, transfer?.tier, transfer?.count], [0, 1, 'low', 4]);
    assert.deepEqual(rt.stats().partitions.map((p) => p.depth.low), [4, 4], 'four moved');
    assert.deepEqual(rt.stats().partitions.map((p) => [p.flow.transferredOut, p.flow.transferredIn]), [[4, 0], [0, 4]]);
    const moved = hot.slice(0, 4);
    for (const id of moved) {
      const view = await rt.get(id); // the id names partition 0, which forwards the lookup
      assert.deepEqual([view?.status, view?.partition], ['queued', 1]);
    }
    for (const id of [...hot.slice(4), ...keyed]) assert.equal((await rt.get(id))?.partition, 0, 'keyed and later ones stayed');
    assert.equal(await rt.cancel(moved[3] as string), true, 'cancel follows the payload too');
    assert.equal((await rt.get(moved[3] as string))?.status, 'cancelled');

    gates.forEach((g) => g.resolve(undefined));
    await advanceUntil(rt, clock, () => order.length === 7);
    assert.deepEqual(order.filter((id) => moved.includes(id)), moved.slice(0, 3), 'moved payloads kept their order');
    assert.deepEqual(order.filter((id) => keyed.includes(id)), keyed, 'and so did the keyed ones');
    assert.equal(events.of('accepted').filter((e) => moved.includes(e.id)).length, 3 + 1, 'accepted once, not again on arrival');
    await rt.stop();
  });

  test('elevate: while high is held back by its type limit, medium in another partition takes the idle reserved slot', async () => {
    const { rt, clock, decisions } = coordinated({ partitions: 2, concurrency: 10 }); // 2 slots reserved for high
    const release = new Map<string, () => void>();
    const blocking = (_: unknown, ctx: HandlerContext) => new Promise<void>((resolve) => release.set(ctx.id, resolve));
    rt.handle('render', blocking, { concurrency: 1 });
    rt.handle('report', blocking);
    const [k0, k1] = [keyFor(0, 2), keyFor(1, 2)];
    const high = await rt.submitMany(Array.from({ length: 3 }, () => ({ type: 'render', priority: 'high' as const, shardKey: k0 })));
    await rt.submitMany(Array.from({ length: 12 }, () => ({ type: 'report', priority: 'medium' as const, shardKey: k1 })));
    await rt.idle();
    assert.deepEqual([rt.stats().pool.busy, rt.stats().pool.byTier.high, rt.stats().pool.byTier.medium], [9, 1, 8], 'one reserved slot stands idle');

    const took = await advanceUntil(rt, clock, () => rt.stats().pool.busy === 10, 100, 5_000);
    assert.ok(took >= 1_000 && took <= 1_200, `elevated once high had waited 20% of its maxWait (${took} ms)`);
    const elevate = decisions.find((d) => d.action === 'elevate');
    assert.equal(elevate?.partition, 1);
    assert.match(elevate?.reason ?? '', /high overflows in partition 0 while 1 reserved slot\(s\) stand idle: medium served as high/);
    assert.deepEqual(rt.stats().partitions.map((p) => p.serveAs.medium), ['medium', 'high']);
    assert.equal(rt.stats().pool.byTier.high, 2, 'the elevated run is charged to the high share');

    for (const id of high) {
      release.get(id)?.();
      await advance(rt, clock, 10);
    }
    await advanceUntil(rt, clock, () => decisions.some((d) => d.action === 'unelevate'), 100, 2_000);
    assert.deepEqual(rt.stats().partitions.map((p) => p.serveAs.medium), ['medium', 'medium']);
    await rt.stop();
  });

  test('adaptive pool: grows with the queue up to max, shrinks back to min when idle; every change a decision', async () => {
    const { rt, clock, decisions } = coordinated({ concurrency: 2, pool: { min: 2, max: 6, checkIntervalMs: 100, cooldownMs: 200, step: 1 } });
    const release: Array<() => void> = [];
    rt.handle('job', () => new Promise<void>((resolve) => release.push(resolve)));
    await rt.submitMany(Array.from({ length: 30 }, () => ({ type: 'job' })));
    await rt.idle();
    assert.equal(rt.stats().pool.size, 2);
    await advanceUntil(rt, clock, () => rt.stats().pool.size === 6, 100, 5_000);
    assert.equal(release.length, 5, 'the new slots run queued work at once (one of six stays reserved for high)');
    assert.deepEqual(decisions.filter((d) => d.action === 'scale').map((d) => d.size), [4, 6], 'doubling, then capped at max');
    while (release.length > 0 || rt.stats().partitions.some((p) => p.depth.medium > 0)) {
      release.splice(0).forEach((r) => r());
      await advance(rt, clock, 50);
    }
    await advanceUntil(rt, clock, () => rt.stats().pool.size === 2, 100, 5_000);
    assert.deepEqual(decisions.filter((d) => d.action === 'scale').map((d) => d.size).slice(2), [2]);
    assert.match(decisions.at(-1)?.reason ?? '', /nothing queued/);
    await rt.stop();
  });
});
