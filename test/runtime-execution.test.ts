import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { NonRetryableError, PayloadFailedError, type HandlerContext, type Logger } from '../src/index.ts';
import { advance, deferred, recordEvents, setup, totals } from './helpers.ts';

describe('handler context', () => {
  test('gets signal, attempt, degraded, progress and a scoped log', async () => {
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    const logger: Logger = { debug() {}, info: (m, f) => lines.push([m, f]), warn() {}, error() {} };
    const { rt } = setup({ logger });
    const events = recordEvents(rt);
    const gate = deferred<void>();
    let seen: HandlerContext | undefined;
    rt.handle('job', async (data: { n: number }, ctx) => {
      seen = ctx;
      ctx.log.info('working', { n: data.n });
      ctx.progress({ pct: 50 });
      await gate.promise;
      return data.n * 2;
    });
    const id = await rt.submit({ type: 'job', data: { n: 21 }, clientId: 'acme' });
    await rt.idle();
    assert.ok(seen);
    assert.ok(seen.signal instanceof AbortSignal);
    assert.equal(seen.signal.aborted, false);
    assert.equal(seen.attempt, 1);
    assert.equal(seen.degraded, false);
    assert.equal(seen.id, id);
    assert.equal(seen.clientId, 'acme');
    assert.deepEqual(lines, [['working', { payload: id, type: 'job', attempt: 1, n: 21 }]]);
    const progress = events.of('progress', id);
    assert.equal(progress.length, 1);
    assert.deepEqual(progress[0]?.progress, { pct: 50 });
    const view = await rt.get(id);
    assert.equal(view?.status, 'running');
    assert.deepEqual(view?.progress, { pct: 50 });
    gate.resolve();
    assert.equal(await rt.waitFor(id), 42);
    assert.equal(seen.signal.aborted, false, 'a completed attempt is not aborted');
    await rt.stop();
  });
});

describe('timeouts', () => {
  test('abort the signal and free the slot of a handler that never settles', async () => {
    const { rt, clock } = setup({ concurrency: 1 });
    const signals: AbortSignal[] = [];
    rt.handle('hang', (_d, ctx) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    }, { timeout: 1000, retries: 0 });
    rt.handle('fast', () => 'done');
    const hung = await rt.submit({ type: 'hang' });
    const fast = await rt.submit({ type: 'fast' });
    await rt.idle();
    assert.equal((await rt.get(fast))?.status, 'queued', 'the only slot is held');
    await advance(rt, clock, 999);
    assert.equal(signals[0]?.aborted, false);
    assert.equal((await rt.get(fast))?.status, 'queued');
    await advance(rt, clock, 1);
    assert.equal(signals[0]?.aborted, true);
    assert.equal((signals[0]?.reason as { code?: string }).code, 'TIMEOUT');
    const view = await rt.get(hung);
    assert.equal(view?.status, 'failed');
    assert.equal(view?.error?.code, 'TIMEOUT');
    assert.equal(await rt.waitFor(fast), 'done', 'the freed slot runs the next payload');
    assert.equal(rt.stats().pool.busy, 0);
    await rt.stop();
  });
});

describe('retries', () => {
  test('exponential backoff between attempts (jitter 0), capped, then failed', async () => {
    const { rt, clock } = setup({ random: () => 0.99 });
    const events = recordEvents(rt);
    const attempts: number[] = [];
    rt.handle('flaky', (_d, ctx) => {
      attempts.push(ctx.attempt);
      throw new Error(`attempt ${ctx.attempt}`);
    }, { retries: 4, backoff: { initialMs: 100, factor: 3, maxMs: 1000, jitter: 0 } });
    const id = await rt.submit({ type: 'flaky' });
    await rt.idle();
    await advance(rt, clock, 1000, 4);
    const retrying = events.of('retrying', id);
    assert.deepEqual(retrying.map((e) => (e.retryAt as number) - e.at), [100, 300, 900, 1000]);
    assert.deepEqual(retrying.map((e) => e.attempt), [1, 2, 3, 4]);
    assert.deepEqual(attempts, [1, 2, 3, 4, 5]);
    const view = await rt.get(id);
    assert.equal(view?.status, 'failed');
    assert.equal(view?.attempts, 5);
    assert.equal(view?.error?.message, 'attempt 5');
    assert.equal(events.of('failed', id).length, 1);
    await rt.stop();
  });

  test('a retry is not started before its retryAt', async () => {
    const { rt, clock } = setup();
    let calls = 0;
    rt.handle('flaky', () => {
      if (++calls === 1) throw new Error('once');
      return 'second time';
    }, { backoff: { initialMs: 500, jitter: 0 } });
    const id = await rt.submit({ type: 'flaky' });
    await rt.idle();
    assert.equal((await rt.get(id))?.status, 'delayed');
    await advance(rt, clock, 499);
    assert.equal(calls, 1);
    await advance(rt, clock, 1);
    assert.equal(await rt.waitFor(id), 'second time');
    await rt.stop();
  });

  test('runtime defaults, per-type defaults and per-payload overrides', async () => {
    const { rt, clock } = setup({ handlerDefaults: { retries: 0, timeout: 5000, backoff: { initialMs: 7, jitter: 0 } } });
    const events = recordEvents(rt);
    const fail = () => {
      throw new Error('no');
    };
    rt.handle('plain', fail);
    rt.handle('typed', fail, { retries: 1, backoff: { initialMs: 50, factor: 3 } });
    rt.handle('hang', () => new Promise(() => {}), { timeout: 500, retries: 0 });
    const plain = await rt.submit({ type: 'plain' });
    const typed = await rt.submit({ type: 'typed' });
    const override = await rt.submit({ type: 'typed', retries: 2, backoff: { initialMs: 10 } });
    const plainOverride = await rt.submit({ type: 'plain', retries: 1 });
    const hangDefault = await rt.submit({ type: 'hang' });
    const hangShort = await rt.submit({ type: 'hang', timeout: 100 });
    await rt.idle();
    const at = clock.now();
    await advance(rt, clock, 100, 10);
    const delays = (id: string) => events.of('retrying', id).map((e) => (e.retryAt as number) - e.at);
    assert.deepEqual(delays(plain), [], 'runtime default: no retries');
    assert.deepEqual(delays(typed), [50], 'per-type retries and backoff');
    assert.deepEqual(delays(override), [10, 30], 'payload retries and initialMs; factor from the type');
    assert.deepEqual(delays(plainOverride), [7], 'payload retries; runtime backoff');
    assert.equal((await rt.get(hangShort))?.finishedAt, at + 100, 'payload timeout');
    assert.equal((await rt.get(hangDefault))?.finishedAt, at + 500, 'per-type timeout');
    for (const id of [plain, typed, override, plainOverride, hangDefault, hangShort]) assert.equal((await rt.get(id))?.status, 'failed');
    await rt.stop();
  });

  test('NonRetryableError and the nonRetryable predicate stop retries', async () => {
    const { rt, clock } = setup();
    const calls = { fatal: 0, type: 0, plain: 0 };
    rt.handle('fatal', () => {
      calls.fatal++;
      throw new NonRetryableError('bad input');
    }, { retries: 5 });
    rt.handle('pred', (d: 'type' | 'plain') => {
      calls[d]++;
      throw d === 'type' ? new TypeError('nope') : new Error('maybe later');
    }, { retries: 2, backoff: { initialMs: 10 }, nonRetryable: (e) => e instanceof TypeError });
    const fatal = await rt.submit({ type: 'fatal' });
    const typeError = await rt.submit({ type: 'pred', data: 'type' });
    const plain = await rt.submit({ type: 'pred', data: 'plain' });
    await rt.idle();
    await advance(rt, clock, 100, 5);
    assert.deepEqual(calls, { fatal: 1, type: 1, plain: 3 });
    await assert.rejects(rt.waitFor(fatal), (e: unknown) => e instanceof PayloadFailedError && e.code === 'NON_RETRYABLE');
    await assert.rejects(rt.waitFor(typeError), (e: unknown) => e instanceof PayloadFailedError && e.code === 'HANDLER_FAILED');
    assert.equal((await rt.get(plain))?.attempts, 3);
    await rt.stop();
  });

  test('a synchronous throw and a non-Error rejection fail cleanly', async () => {
    const { rt } = setup();
    rt.handle('sync', () => {
      throw new RangeError('boom');
    }, { retries: 0 });
    rt.handle('string', () => Promise.reject('just a string'), { retries: 0 });
    rt.handle('throw-number', () => {
      throw 42;
    }, { retries: 0 });
    rt.handle('ok', () => 'still serving');
    const sync = await rt.submit({ type: 'sync' });
    const str = await rt.submit({ type: 'string' });
    const num = await rt.submit({ type: 'throw-number' });
    await rt.idle();
    assert.deepEqual((await rt.get(sync))?.error, { code: 'HANDLER_FAILED', message: 'boom', name: 'RangeError' });
    const strError = (await rt.get(str))?.error;
    assert.equal(strError?.code, 'HANDLER_FAILED');
    assert.match(strError?.message ?? '', /just a string/);
    assert.match((await rt.get(num))?.error?.message ?? '', /42/);
    assert.equal(await rt.waitFor(await rt.submit({ type: 'ok' })), 'still serving');
    assert.equal(rt.stats().pool.busy, 0);
    await rt.stop();
  });
});

describe('cancellation', () => {
  test('a queued payload never runs', async () => {
    const { rt } = setup({ concurrency: 1 });
    const events = recordEvents(rt);
    const gate = deferred<void>();
    const ran: string[] = [];
    rt.handle('job', async (d: string) => {
      ran.push(d);
      if (d === 'blocker') await gate.promise;
      return d;
    });
    await rt.submit({ type: 'job', data: 'blocker' });
    const queued = await rt.submit({ type: 'job', data: 'queued' });
    const after = await rt.submit({ type: 'job', data: 'after' });
    await rt.idle();
    assert.equal(await rt.cancel(queued), true);
    assert.equal((await rt.get(queued))?.status, 'cancelled');
    assert.equal(events.of('cancelled', queued).length, 1);
    await assert.rejects(rt.waitFor(queued), { code: 'CANCELLED' });
    gate.resolve();
    assert.equal(await rt.waitFor(after), 'after');
    assert.deepEqual(ran, ['blocker', 'after']);
    assert.equal(await rt.cancel(queued), false, 'already finished');
    assert.equal(await rt.cancel(after), false);
    assert.equal(await rt.cancel('no-such-id'), false);
    await rt.stop();
  });

  test('a delayed payload never runs, even once due', async () => {
    const { rt, clock } = setup();
    let ran = 0;
    rt.handle('job', () => ran++);
    const id = await rt.submit({ type: 'job', delay: 1000 });
    await rt.idle();
    assert.equal(await rt.cancel(id), true);
    await advance(rt, clock, 5000);
    assert.equal(ran, 0);
    assert.equal((await rt.get(id))?.status, 'cancelled');
    assert.equal(totals(rt).cancelled, 1);
    await rt.stop();
  });

  test('a running payload: signal aborted, slot freed, cancelled event, late result ignored', async () => {
    const { rt } = setup({ concurrency: 1 });
    const events = recordEvents(rt);
    const gate = deferred<string>();
    let signal: AbortSignal | undefined;
    rt.handle('slow', (_d, ctx) => {
      signal = ctx.signal;
      return gate.promise;
    });
    rt.handle('next', () => 'next ran');
    const running = await rt.submit({ type: 'slow' });
    const waiting = rt.waitFor(running);
    const next = await rt.submit({ type: 'next' });
    await rt.idle();
    assert.equal((await rt.get(running))?.status, 'running');
    assert.equal((await rt.get(next))?.status, 'queued');
    assert.equal(await rt.cancel(running), true);
    assert.equal(signal?.aborted, true);
    assert.equal((signal?.reason as { code?: string }).code, 'CANCELLED');
    await assert.rejects(waiting, { code: 'CANCELLED' });
    assert.equal(events.of('cancelled', running).length, 1);
    assert.equal(await rt.waitFor(next), 'next ran', 'the slot was freed');
    gate.resolve('too late');
    await rt.idle();
    const view = await rt.get(running);
    assert.equal(view?.status, 'cancelled');
    assert.equal(view?.result, undefined);
    assert.equal(events.of('completed', running).length, 0);
    assert.equal(totals(rt).completed, 1);
    assert.equal(rt.stats().pool.busy, 0);
    await rt.stop();
  });
});

describe('per-type concurrency', () => {
  test('never more than the limit running at once; other types use the rest', async () => {
    const { rt } = setup({ concurrency: 10 });
    const gates: Array<() => void> = [];
    let running = 0;
    let peak = 0;
    let otherPeak = 0;
    let other = 0;
    rt.handle('limited', () => {
      running++;
      peak = Math.max(peak, running);
      return new Promise<void>((resolve) => gates.push(() => ((running--), resolve())));
    }, { concurrency: 2 });
    rt.handle('free', () => {
      other++;
      otherPeak = Math.max(otherPeak, other);
      return new Promise<void>((resolve) => gates.push(() => ((other--), resolve())));
    });
    const ids = await rt.submitMany([
      ...Array.from({ length: 6 }, () => ({ type: 'limited' })),
      ...Array.from({ length: 3 }, () => ({ type: 'free' })),
    ]);
    await rt.idle();
    assert.equal(running, 2);
    assert.equal(other, 3);
    while (gates.length > 0) {
      gates.shift()?.();
      await rt.idle();
    }
    assert.equal(peak, 2);
    assert.equal(otherPeak, 3);
    for (const id of ids) assert.equal((await rt.get(id))?.status, 'completed');
    await rt.stop();
  });
});
