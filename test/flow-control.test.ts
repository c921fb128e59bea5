import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { OptionsError, type HandlerContext, type Logger } from '../src/index.ts';
import { advance, deferred, setup } from './helpers.ts';
import { coordinated } from './coordinator-support.ts';

describe('low-tier throttle', () => {
  test('at most N low starts per second, changed at runtime without restart; other tiers are not throttled', async () => {
    const { rt, clock, decisions } = coordinated({ concurrency: 50, throttle: { low: 4 } });
    const starts: Array<[number, string]> = [];
    const t0 = clock.now();
    rt.handle('job', (_: unknown, ctx: HandlerContext) => void starts.push([clock.now() - t0, ctx.id]));
    await rt.submitMany(Array.from({ length: 60 }, () => ({ type: 'job', priority: 'low' as const })));
    const high = await rt.submitMany(Array.from({ length: 5 }, () => ({ type: 'job', priority: 'high' as const })));
    await rt.idle();
    assert.ok(high.every((id) => starts.some(([, s]) => s === id)), 'high started at once');
    const lowStarts = () => starts.filter(([, id]) => !high.includes(id)).map(([at]) => at);
    await advance(rt, clock, 50, 40); // 2 s
    const inSecond = (from: number) => lowStarts().filter((at) => at >= from && at < from + 1_000).length;
    assert.deepEqual([inSecond(0), inSecond(1_000)], [4, 4]);
    assert.deepEqual(lowStarts().slice(0, 5), [0, 250, 500, 750, 1_000], 'spread through the second, not in a burst');

    rt.setLowThrottle(20);
    await rt.idle();
    assert.equal(rt.stats().pool.lowThrottle, 20);
    await advance(rt, clock, 50, 20);
    const after = lowStarts().filter((at) => at > 2_000 && at <= 3_000);
    assert.deepEqual(after, Array.from({ length: 20 }, (_, i) => 2_050 + i * 50), 'the new limit holds from the next start: 20 a second');
    assert.match(decisions.find((d) => d.action === 'throttle')?.reason ?? '', /20 starts per second/);

    rt.setLowThrottle(0);
    await rt.idle();
    const before = lowStarts().length;
    await advance(rt, clock, 50, 20);
    assert.equal(lowStarts().length, before, '0 stops low starts');
    rt.setLowThrottle(undefined);
    await advance(rt, clock, 50);
    assert.equal(lowStarts().length, 60, 'no limit: the rest start at once');
    assert.throws(() => rt.setLowThrottle(-1), (e: unknown) => e instanceof OptionsError && e.problems[0]?.field === 'throttle.low');
    await rt.stop();
  });

  test('works without the coordinator too', async () => {
    const { rt, clock } = setup({ coordinator: false, concurrency: 10 });
    const starts: number[] = [];
    rt.handle('job', () => void starts.push(clock.now()));
    rt.setLowThrottle(2);
    await rt.submitMany(Array.from({ length: 6 }, () => ({ type: 'job', priority: 'low' as const })));
    await advance(rt, clock, 111, 9);
    assert.equal(starts.length, 2, '2 a second');
    await rt.stop();
  });
});

describe('batching of low payloads', () => {
  test('a handler with batch gets arrays: full batches at once, a partial one after waitMs; results per item', async () => {
    const { rt, clock } = setup({ partitions: 1, concurrency: 4 });
    const calls: Array<{ data: number[]; ids: readonly string[] | undefined }> = [];
    rt.handle('mail', (data: number[], ctx: HandlerContext) => {
      calls.push({ data, ids: ctx.batchIds });
      return data.map((n) => n * 10);
    }, { batch: { max: 3, waitMs: 100 } });
    const ids = await rt.submitMany([1, 2, 3, 4, 5, 6, 7].map((n) => ({ type: 'mail', data: n, priority: 'low' as const })));
    await rt.idle();
    assert.deepEqual(calls.map((c) => c.data), [[1, 2, 3], [4, 5, 6]], 'two full batches');
    assert.deepEqual(calls[0]?.ids, ids.slice(0, 3));
    await advance(rt, clock, 99);
    assert.equal(calls.length, 2, 'the last one waits for company');
    await advance(rt, clock, 1);
    assert.deepEqual(calls.map((c) => c.data), [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(await Promise.all(ids.map((id) => rt.waitFor(id))), [10, 20, 30, 40, 50, 60, 70]);
    const urgent = await rt.submit({ type: 'mail', data: 8, priority: 'high' });
    await rt.idle();
    assert.deepEqual(calls.at(-1)?.data, [8], 'other tiers run alone, as an array of one');
    assert.equal(await rt.waitFor(urgent), 80);
    assert.equal(rt.stats().pool.busy, 0);
    await rt.stop();
  });

  test('a batch holds one slot; it fails (and retries) as a whole; a cancelled member gets no result', async () => {
    const { rt, clock } = setup({ partitions: 1, concurrency: 4, handlerDefaults: { retries: 1, backoff: { initialMs: 10, jitter: 0 } } });
    const gate = deferred<number[]>();
    const calls: number[][] = [];
    rt.handle('mail', (data: number[]) => (calls.push(data) === 1 ? gate.promise : data), { batch: { max: 3, waitMs: 10 } });
    const ids = await rt.submitMany([1, 2, 3].map((n) => ({ type: 'mail', data: n, priority: 'low' as const })));
    await rt.idle();
    assert.equal(rt.stats().pool.busy, 1, 'one slot for the batch');
    assert.equal(await rt.cancel(ids[1] as string), true);
    gate.reject(new Error('smtp down'));
    await rt.idle();
    assert.deepEqual((await Promise.all(ids.map((id) => rt.get(id)))).map((v) => v?.status), ['delayed', 'cancelled', 'delayed']);
    await advance(rt, clock, 10);
    await advance(rt, clock, 10);
    assert.deepEqual(calls, [[1, 2, 3], [1, 3]], 'the retry ran as a batch of the two left');
    assert.deepEqual(await Promise.all([ids[0], ids[2]].map((id) => rt.waitFor(id as string))), [1, 3], 'one result per item');
    await rt.stop();
  });
});

describe('boost rules', () => {
  test('a matching rule adds to the priority at routing; the tier follows; a throwing rule counts as no match', async () => {
    const errors: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn() {}, error: (m) => void errors.push(m) };
    const { rt } = setup({
      logger,
      boostRules: [
        { tag: 'urgent', boost: 3 },
        { name: 'vip', when: (p) => p.clientId === 'vip', boost: 2 },
        { name: 'broken', when: () => { throw new Error('bad rule'); }, boost: 5 },
      ],
    });
    rt.handle('job', () => 'ok');
    const [urgent, vip, both, plain, top] = await rt.submitMany([
      { type: 'job', priority: 'medium', tags: ['urgent'] },
      { type: 'job', priority: 'low', clientId: 'vip' },
      { type: 'job', priority: 'low', clientId: 'vip', tags: ['urgent'] },
      { type: 'job', priority: 'medium' },
      { type: 'job', priority: 'critical', tags: ['urgent'] },
    ]);
    const views = await Promise.all([urgent, vip, both, plain, top].map((id) => rt.get(id as string)));
    assert.deepEqual(views.map((v) => [v?.priority, v?.tier]), [[8, 'high'], [4, 'medium'], [7, 'high'], [5, 'medium'], [10, 'critical']]);
    assert.ok(errors.length >= 5 && errors.every((m) => /boost rule threw/.test(m)));
    await rt.stop();
    assert.throws(() => setup({ boostRules: [{ tag: '', boost: 2 }] }), (e: unknown) => e instanceof OptionsError && e.problems[0]?.field === 'boostRules[0].tag');
  });
});

test('a bad batch option is refused with the field named', () => {
  const { rt } = setup();
  assert.throws(() => rt.handle('x', () => 1, { batch: { max: 0, waitMs: 10 } }), (e: unknown) => e instanceof OptionsError && e.problems[0]?.field === 'batch');
  void rt.stop();
});
