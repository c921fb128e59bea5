import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { effectiveScore, initialComplexityState, keyOf, observedScore, observedWeight, reduceComplexity } from '../actors/complexity/state.ts';
import type { CostSums } from '../src/execution/meter.ts';
import { compileOptions } from '../src/options.ts';
import { OptionsError, type HandlerContext } from '../src/index.ts';
import { advance } from './helpers.ts';
import { coordinated, sleepOn } from './coordinator-support.ts';

const options = (() => {
  const c = compileOptions({}).coordination.complexity;
  assert.ok(c);
  return c;
})();
const sums = (fields: Partial<CostSums>): CostSums => ({ clientId: 'c', type: 't', n: 1, wallMs: 0, cpuN: 0, cpuMs: 0, memN: 0, memBytes: 0, ...fields });

describe('complexity analyzer: averages and scores', () => {
  test('EWMA: the first observation sets the average; n at once move it as n single updates of their mean would', () => {
    let one = reduceComplexity(initialComplexityState(), { type: 'costs', sums: [sums({ wallMs: 100 })], at: 1 }, options);
    assert.equal(one.averages.get(keyOf('c', 't'))?.wallMs, 100);
    let batch = one;
    for (let i = 0; i < 3; i++) one = reduceComplexity(one, { type: 'costs', sums: [sums({ wallMs: 200 })], at: 2 }, options);
    batch = reduceComplexity(batch, { type: 'costs', sums: [sums({ n: 3, wallMs: 600 })], at: 2 }, options);
    const a = one.averages.get(keyOf('c', 't'));
    const b = batch.averages.get(keyOf('c', 't'));
    assert.ok(Math.abs((a?.wallMs ?? 0) - (b?.wallMs ?? 0)) < 1e-9);
    assert.ok(Math.abs((a?.wallMs ?? 0) - (200 - 100 * 0.8 ** 3)) < 1e-9, 'alpha 0.2');
    assert.deepEqual([b?.samples, b?.cpuSamples, b?.cpuMs], [4, 0, 0], 'no CPU metered, no CPU average');
  });

  test('observed score: 1 + log2(cost / 10 ms), CPU weighs 3, a MiB weighs 1 ms; clamped to 1–10', () => {
    const avg = (wallMs: number, cpuMs = 0, memoryBytes = 0) => ({ clientId: 'c', type: 't', samples: 1, wallMs, cpuSamples: 1, cpuMs, memorySamples: 1, memoryBytes, updatedAt: 0 });
    assert.equal(observedScore(avg(5), options), 1);
    assert.equal(observedScore(avg(80), options), 4);
    assert.equal(observedScore(avg(20, 20), options), 4, '20 + 3 × 20 = 80 ms');
    assert.equal(observedScore(avg(0, 0, 160 * 1_048_576), options), 5, '160 MiB ≈ 160 ms');
    assert.equal(observedScore(avg(1e9), options), 10);
  });

  test('blend: observed cost weighs more with samples (capped), inflation under load, 1–10', () => {
    assert.equal(observedWeight(10, options), 0.5);
    assert.equal(observedWeight(1_000, options), 0.8);
    assert.equal(effectiveScore(2, undefined, 0, 0), 2);
    assert.equal(effectiveScore(2, 8, 0.5, 0), 5);
    assert.equal(effectiveScore(2, 8, 0.5, 0.25), 6.25);
    assert.equal(effectiveScore(9, 10, 0.8, 0.25), 10);
  });
});

describe('complexity analyzer in a runtime', () => {
  test('measured wall time per client and type; routing uses the effective score; suggestComplexity shows the evidence', async () => {
    const { rt, clock } = coordinated({ concurrency: 20, heavyComplexity: 4, complexity: { sampleEvery: 1 } });
    const sleep = sleepOn(clock);
    rt.handle('render', async (ms: number) => sleep(ms));
    await rt.submitMany([
      ...Array.from({ length: 10 }, () => ({ type: 'render', data: 640, clientId: 'studio', priority: 'high' as const })),
      ...Array.from({ length: 10 }, () => ({ type: 'render', data: 10, clientId: 'blog', priority: 'high' as const })),
    ]);
    await rt.idle(); // they start now
    await advance(rt, clock, 10, 80); // steps that land on the handlers' own timers, so ends are measured exactly // both finish; the coordinator's rounds hand the costs to the analyzer
    const heavy = rt.suggestComplexity('studio', 'render');
    assert.deepEqual([heavy.samples, heavy.averages.wallMs, heavy.observedScore, heavy.weight], [10, 640, 7, 0.5]);
    assert.equal(heavy.score, 4, 'half the client score 1, half the observed 7');
    const light = rt.suggestComplexity('blog', 'render');
    assert.deepEqual([light.samples, light.averages.wallMs, light.score], [10, 10, 1]);
    assert.deepEqual(rt.suggestComplexity('nobody', 'render').samples, 0);

    const [fromStudio, fromBlog] = await rt.submitMany([
      { type: 'render', data: 1, priority: 8, clientId: 'studio' },
      { type: 'render', data: 1, priority: 8, clientId: 'blog' },
    ]);
    assert.equal((await rt.get(fromStudio as string))?.tier, 'medium', 'its real cost makes it heavy: one tier down');
    assert.equal((await rt.get(fromBlog as string))?.tier, 'high');

    rt.coordinator?.pin('critical');
    await rt.idle();
    const inflated = rt.suggestComplexity('blog', 'render', 3);
    assert.deepEqual([inflated.level, inflated.inflation], ['critical', 0.25]);
    assert.equal(inflated.score, (0.5 * 3 + 0.5 * 1) * 1.25);
    await rt.stop();
  });

  test('CPU of overlapping runs is split by the runs in flight; heap growth likewise', async () => {
    const { rt, clock, sampler } = coordinated({ concurrency: 4, complexity: { sampleEvery: 1 } });
    const sleep = sleepOn(clock);
    rt.handle('crunch', async (_: unknown, ctx: HandlerContext) => {
      await sleep(100);
      return ctx.id;
    });
    sampler.spend(0, 1_048_576);
    await rt.submitMany([1, 2].map(() => ({ type: 'crunch', clientId: 'lab', priority: 'high' as const })));
    await rt.idle(); // both start now
    await advance(rt, clock, 50);
    sampler.spend(100_000, 3 * 1_048_576); // 100 ms of process CPU and 2 MiB while both ran
    await advance(rt, clock, 50);
    await advance(rt, clock, 500);
    const s = rt.suggestComplexity('lab', 'crunch');
    assert.deepEqual([s.samples, s.cpuSamples, s.averages.wallMs, s.averages.cpuMs, s.averages.memoryBytes], [2, 2, 100, 50, 1_048_576]);
    await rt.stop();
  });

  test('complexity: false switches the analyzer off; routing uses the client score', async () => {
    const { rt } = coordinated({ complexity: false });
    assert.throws(() => rt.suggestComplexity('c', 't'), OptionsError);
    assert.equal(rt.tree().some((a) => a.kind === 'complexity-analyzer'), false);
    await rt.stop();
  });
});
