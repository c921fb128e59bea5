/**
 * Fair sharing of a tier between clients, end to end on a simulated clock: a flooding client does
 * not hold back another, weights share the slots, weights change at run time. The mailbox's round
 * robin itself is tested in test/partition-mailbox.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerContext } from '../src/index.ts';
import { OptionsError } from '../src/index.ts';
import { coordinated, sleepOn } from './coordinator-support.ts';
import { post, serve, TOKEN } from './admin-support.ts';

/** Nearest-rank percentile. */
const percentile = (values: readonly number[], p: number): number => [...values].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * values.length) - 1)] as number;

/**
 * A floods (`flood` payloads of 2 ms, submitted at once), then B trickles `trickle` payloads 10 ms
 * apart, on a simulated clock with 10 slots over 4 partitions: B's waits, and A's work still queued.
 */
async function noisyNeighbour(flood: { count: number; shardKey?: string }, trickle: number): Promise<{ waits: number[]; aQueued: number }> {
  const { rt, clock } = coordinated({ partitions: 4, concurrency: 10 });
  const sleep = sleepOn(clock);
  const waits: number[] = [];
  rt.handle('work', async (data: { submittedAt?: number }, ctx: HandlerContext) => {
    if (ctx.clientId === 'B') waits.push(clock.now() - (data.submittedAt as number));
    await sleep(2);
  });
  const shard = flood.shardKey === undefined ? {} : { shardKey: flood.shardKey };
  await rt.submitMany(Array.from({ length: flood.count }, () => ({ type: 'work', clientId: 'A', ...shard, data: {} })));
  const tick = async () => {
    clock.advance(1);
    await rt.idle();
  };
  for (let i = 0; i < trickle; i++) {
    await rt.submit({ type: 'work', clientId: 'B', data: { submittedAt: clock.now() } });
    for (let ms = 0; ms < 10; ms++) await tick();
  }
  for (let ms = 0; ms < 2_000 && waits.length < trickle; ms++) await tick();
  const aQueued = rt.stats().partitions.reduce((n, p) => n + p.depth.medium, 0);
  await rt.stop();
  return { waits, aQueued };
}

test('noisy neighbour: while A floods 5,000 payloads, B\'s 100 (10 ms apart) each wait for the next slot to free (p99 ≤ 2 ms)', async () => {
  const { waits, aQueued } = await noisyNeighbour({ count: 5_000 }, 100);
  assert.equal(waits.length, 100, 'all of B ran');
  // B had nothing queued each time: it is a fresh client in its partition, served first there and
  // granted the next slot to free, whichever partition A's flood is taking turns in.
  assert.ok(percentile(waits, 99) <= 2, `B waited p99 ${percentile(waits, 99)} ms (p50 ${percentile(waits, 50)}): longer than one of A's payloads runs`);
  assert.ok(aQueued > 0, 'A still had work queued when B was done: B did not just wait it out');
});

test('noisy neighbour sharded by client: A\'s flood in one partition (shardKey) does not hold B\'s trickle in others', async () => {
  // All of A's flood is older than any of B's payloads: by age alone B would wait for all of it.
  const { waits, aQueued } = await noisyNeighbour({ count: 2_000, shardKey: 'A' }, 50);
  assert.equal(waits.length, 50, 'all of B ran');
  assert.ok(percentile(waits, 99) <= 2, `B waited p99 ${percentile(waits, 99)} ms (p50 ${percentile(waits, 50)})`);
  assert.ok(aQueued > 0, 'A still had work queued when B was done');
});

test('two floods sharded to partitions of their own share the slots by weight, the later one too', async () => {
  for (const [weights, expectedA] of [[{}, 0.5], [{ A: 3, B: 1 }, 0.75]] as const) {
    const { rt, clock } = coordinated({ partitions: 4, concurrency: 8, fairness: { weights } });
    const sleep = sleepOn(clock);
    const started = { A: 0, B: 0 };
    rt.handle('work', async (_data: unknown, ctx: HandlerContext) => {
      started[ctx.clientId as 'A' | 'B']++;
      await sleep(2);
    });
    const tick = async (ms: number) => {
      for (let i = 0; i < ms; i++) {
        clock.advance(1);
        await rt.idle();
      }
    };
    await rt.submitMany(Array.from({ length: 4_000 }, () => ({ type: 'work', clientId: 'A', shardKey: 'A', data: {} })));
    // B's flood comes a second later: older by more than an age grain, A's would go first by age alone.
    await tick(1_000);
    await rt.submitMany(Array.from({ length: 4_000 }, () => ({ type: 'work', clientId: 'B', shardKey: 'B', data: {} })));
    const before = { ...started };
    await tick(200);
    const a = started.A - before.A;
    const b = started.B - before.B;
    assert.ok(Math.abs(a / (a + b) - expectedA) <= 0.05, `weights ${JSON.stringify(weights)}: A ${a}, B ${b}`);
    await rt.stop();
  }
});

test('weights 3:2:1 between three flooding clients share the slots 3:2:1; setFairness changes them at run time', async () => {
  const { rt, clock } = coordinated({ partitions: 1, concurrency: 4, fairness: { weights: { a: 3, b: 2 } } });
  const sleep = sleepOn(clock);
  const served: Record<string, number> = { a: 0, b: 0, c: 0 };
  rt.handle('work', async (_: unknown, ctx: HandlerContext) => {
    served[ctx.clientId] = (served[ctx.clientId] ?? 0) + 1;
    await sleep(5);
  });
  await rt.submitMany(['a', 'b', 'c'].flatMap((clientId) => Array.from({ length: 2_000 }, () => ({ type: 'work', clientId }))));
  const runFor = async (ms: number) => {
    for (let t = 0; t < ms; t++) {
      clock.advance(1);
      await rt.idle();
    }
  };
  await runFor(1_500);
  const total = served.a! + served.b! + served.c!;
  assert.ok(total > 600, `${total} served`);
  const share = (client: string) => served[client]! / total;
  assert.ok(Math.abs(share('a') - 3 / 6) <= 0.05 && Math.abs(share('b') - 2 / 6) <= 0.05 && Math.abs(share('c') - 1 / 6) <= 0.05, JSON.stringify(served));

  assert.deepEqual(rt.setFairness({ weights: { c: 4 } }), { weights: { c: 4 }, defaultWeight: 1 });
  for (const client of ['a', 'b', 'c']) served[client] = 0;
  await runFor(1_000);
  const after = served.a! + served.b! + served.c!;
  assert.ok(Math.abs(served.c! / after - 4 / 6) <= 0.05, `c's share once weighted 4: ${JSON.stringify(served)}`);
  await rt.stop();
});

test('bad fairness options are refused with the field named, and change nothing', async () => {
  const { rt } = coordinated({ fairness: { weights: { a: 2 } } });
  for (const bad of [{ weights: { a: 0 } }, { weights: { a: -1 } }, { defaultWeight: Number.NaN }, { weights: [] }, { weight: { a: 1 } }] as never[]) {
    assert.throws(() => rt.setFairness(bad), (e: unknown) => e instanceof OptionsError && e.code === 'INVALID_OPTIONS', JSON.stringify(bad));
  }
  assert.deepEqual(rt.fairness(), { weights: { a: 2 }, defaultWeight: 1 });
  assert.throws(() => coordinated({ fairness: { weights: { x: 'heavy' } } as never }), (e: unknown) => e instanceof OptionsError && /fairness\.weights\.x/.test(e.message));
  await rt.stop();
});

test('admin: the weights are read by anyone and changed with the operator token; a bad one is a 400 that changes nothing', async () => {
  const s = await serve({ partitions: 2, fairness: { weights: { big: 4 } } }, { token: TOKEN });
  try {
    assert.deepEqual((await s.call('/api/fairness')).json, { weights: { big: 4 }, defaultWeight: 1 });
    assert.equal((await s.call('/api/fairness', post({ weights: { small: 1 } }, 'wrong-token-0123456789'))).status, 401);
    assert.deepEqual((await s.call('/api/fairness', post({ weights: { big: 2, tiny: 0.5 }, defaultWeight: 1 }))).json, { weights: { big: 2, tiny: 0.5 }, defaultWeight: 1 });
    const bad = await s.call('/api/fairness', post({ weights: { big: -3 } }));
    assert.equal(bad.status, 400);
    assert.equal((bad.json as { error: { code: string } }).error.code, 'BAD_REQUEST');
    assert.equal((await s.call('/api/fairness', post([1, 2]))).status, 400);
    assert.deepEqual(s.rt.fairness(), { weights: { big: 2, tiny: 0.5 }, defaultWeight: 1 });
  } finally {
    await s.close();
  }
});
