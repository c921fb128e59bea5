/**
 * A large `submitMany` is validated, prepared and sent in bounded slices, and the partitions take
 * it in within one budget per turn of the event loop, so the event loop keeps turning while it is
 * taken in. The stall bound here is generous: a busy shared machine stretches every turn (and every
 * GC pause) several-fold; the tight figure lives in the benchmark. What does not depend on the
 * machine's speed is checked too: the loop turns many times while the batch is validated, sent and
 * queued, and a timer set as the call is made fires before the call resolves.
 */
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRuntime, silentLogger, type Runtime } from '../src/index.ts';

const PAYLOADS = 100_000;
const STALL_BOUND_MS = 500;
/** Turns of the event loop while the submitMany runs: without slices it is one or two. */
const MIN_TURNS = 30;

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

test('a 100,000-payload submitMany never stalls the event loop and every payload completes', async () => {
  const rt = (runtime = createRuntime({ logger: silentLogger }));
  rt.handle('noop', () => undefined);
  let completed = 0;
  const allCompleted = new Promise<void>((resolve) => {
    rt.events.on('completed', () => {
      if (++completed === PAYLOADS) resolve();
    });
  });
  const priorities = ['critical', 'high', 'medium', 'low'] as const;
  const inputs = Array.from({ length: PAYLOADS }, (_, i) => ({ type: 'noop', priority: priorities[i % 4], data: i }));
  await rt.idle();

  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  let turns = 0;
  let counting = true;
  const countTurn = (): void => {
    turns++;
    if (counting) setImmediate(countTurn);
  };
  setImmediate(countTurn);
  let timerFiredAt: number | undefined;
  setTimeout(() => (timerFiredAt = turns), 0);
  const ids = await rt.submitMany(inputs);
  counting = false;
  const turnsWhileSubmitting = turns;
  await allCompleted;
  delay.disable();

  assert.ok(turnsWhileSubmitting >= MIN_TURNS, `the event loop turned ${turnsWhileSubmitting} times while 100,000 payloads were taken in`);
  assert.ok(timerFiredAt !== undefined && timerFiredAt < turnsWhileSubmitting, 'a timer set at the call fired while the batch was taken in');

  assert.equal(ids.length, PAYLOADS);
  assert.equal(new Set(ids).size, PAYLOADS);
  assert.equal(completed, PAYLOADS);
  const stallMs = delay.max / 1e6;
  assert.ok(stallMs < STALL_BOUND_MS, `the event loop stalled for ${stallMs.toFixed(0)} ms`);
});

test('a bad payload deep in a large submitMany refuses the whole batch and enqueues nothing', async () => {
  const rt = (runtime = createRuntime({ logger: silentLogger }));
  let runs = 0;
  rt.handle('noop', () => {
    runs++;
  });
  const inputs: Array<{ type: string; priority?: unknown }> = Array.from({ length: 10_000 }, () => ({ type: 'noop' }));
  inputs[7_654] = { type: 'noop', priority: 'urgent' };
  inputs[9_999] = { type: 'missing' };
  await assert.rejects(rt.submitMany(inputs as never), (error: Error & { code?: string; problems?: Array<{ field: string }> }) => {
    assert.equal(error.code, 'VALIDATION_FAILED');
    assert.deepEqual(error.problems?.map((p) => p.field.split('.')[0]), ['payloads[7654]', 'payloads[9999]']);
    return true;
  });
  await rt.idle();
  assert.equal(runs, 0);
  assert.equal(rt.stats().partitions.reduce((n, p) => n + p.depth.critical + p.depth.high + p.depth.medium + p.depth.low, 0), 0);
});
