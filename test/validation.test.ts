import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createRuntime, OptionsError, SimulatedClock, TriageError, ValidationError, silentLogger, type PayloadInput } from '../src/index.ts';
import { compileOptions } from '../src/options.ts';
import { recordEvents, setup, totals } from './helpers.ts';

function withRuntime(fn: (ctx: ReturnType<typeof setup> & { events: ReturnType<typeof recordEvents> }) => Promise<void>, maxDataBytes = 64) {
  return async () => {
    const ctx = setup({ maxDataBytes, partitions: 4 });
    ctx.rt.handle('job', () => 'ok');
    const events = recordEvents(ctx.rt);
    try {
      await fn({ ...ctx, events });
    } finally {
      await ctx.rt.stop();
    }
  };
}

/** Submits and returns the ValidationError it must reject with. */
async function rejection(p: Promise<unknown>): Promise<ValidationError> {
  const error = await p.then(
    () => assert.fail('expected a ValidationError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ValidationError, `expected ValidationError, got ${String(error)}`);
  assert.equal(error.code, 'VALIDATION_FAILED');
  return error;
}

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;
const now = new SimulatedClock().now();

describe('submit validation', () => {
  test('every bad field of one payload is reported at once, and nothing is enqueued', withRuntime(async ({ rt, events }) => {
    const bad = {
      type: 'job',
      priority: Number.NaN,
      complexity: 11,
      timeout: 'soon',
      retries: 1.5,
      clientId: '',
      idempotencyKey: 7,
      tags: [''],
      backoff: { factor: 0, bogus: 1 },
      runAt: 'tomorrow',
      data: circular,
      colour: 'blue',
    };
    const error = await rejection(rt.submit(bad as unknown as PayloadInput));
    assert.deepEqual(new Set(error.fields), new Set([
      'colour', 'clientId', 'idempotencyKey', 'priority', 'complexity', 'timeout', 'retries',
      'backoff.bogus', 'backoff.factor', 'tags', 'runAt', 'data',
    ]));
    assert.equal(error.fields.length, 12, 'each problem reported once');
    await rt.idle();
    assert.equal(totals(rt).accepted, 0);
    assert.equal(events.all.length, 0, 'no accepted event');
  }));

  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['type: wrong type', { type: 42 }, 'type'],
    ['type: empty', { type: '' }, 'type'],
    ['type: no handler registered', { type: 'nobody-handles-this' }, 'type'],
    ['priority: below range', { priority: 0 }, 'priority'],
    ['priority: above range', { priority: 11 }, 'priority'],
    ['priority: not an integer', { priority: 5.5 }, 'priority'],
    ['priority: NaN', { priority: Number.NaN }, 'priority'],
    ['priority: Infinity', { priority: Number.POSITIVE_INFINITY }, 'priority'],
    ['priority: unknown name', { priority: 'urgent' }, 'priority'],
    ['priority: numeric string', { priority: '5' }, 'priority'],
    ['complexity: NaN', { complexity: Number.NaN }, 'complexity'],
    ['complexity: 0', { complexity: 0 }, 'complexity'],
    ['complexity: string', { complexity: '3' }, 'complexity'],
    ['timeout: 0', { timeout: 0 }, 'timeout'],
    ['timeout: beyond the timer range', { timeout: 2 ** 31 }, 'timeout'],
    ['retries: negative', { retries: -1 }, 'retries'],
    ['retries: fractional', { retries: 1.5 }, 'retries'],
    ['delay: negative', { delay: -1 }, 'delay'],
    ['delay: NaN', { delay: Number.NaN }, 'delay'],
    ['delay: string', { delay: '10s' }, 'delay'],
    ['runAt: free text', { runAt: 'tomorrow' }, 'runAt'],
    ['runAt: impossible ISO date', { runAt: '2024-13-45T00:00:00Z' }, 'runAt'],
    ['runAt: invalid Date', { runAt: new Date('nope') }, 'runAt'],
    ['runAt: negative epoch', { runAt: -1 }, 'runAt'],
    ['runAt: NaN', { runAt: Number.NaN }, 'runAt'],
    ['runAt: boolean', { runAt: true }, 'runAt'],
    ['runAt: object', { runAt: {} }, 'runAt'],
    ['runAt and delay together', { runAt: now + 1000, delay: 1000 }, 'runAt'],
    ['deadline before runAt', { runAt: now + 2000, deadline: now + 1000 }, 'deadline'],
    ['data: over maxDataBytes', { data: 'x'.repeat(100) }, 'data'],
    ['data: over maxDataBytes in bytes, not characters', { data: 'é'.repeat(40) }, 'data'],
    ['data: BigInt', { data: 10n }, 'data'],
    ['data: circular', { data: circular }, 'data'],
    ['data: function', { data: () => 1 }, 'data'],
    ['data: symbol', { data: Symbol('s') }, 'data'],
    ['unknown field', { colour: 'blue' }, 'colour'],
    ['clientId: not a string', { clientId: 5 }, 'clientId'],
    ['clientId: too long', { clientId: 'c'.repeat(513) }, 'clientId'],
    ['idempotencyKey: empty', { idempotencyKey: '' }, 'idempotencyKey'],
    ['backoff: not an object', { backoff: 5 }, 'backoff'],
    ['backoff: factor below 1', { backoff: { factor: 0.5 } }, 'backoff.factor'],
    ['backoff: jitter above 1', { backoff: { jitter: 2 } }, 'backoff.jitter'],
    ['backoff: unknown field', { backoff: { wat: 1 } }, 'backoff.wat'],
    ['tags: not an array', { tags: 'a' }, 'tags'],
    ['tags: non-string entry', { tags: ['a', 1] }, 'tags'],
  ];
  for (const [name, fields, field] of cases) {
    test(`rejects ${name} (field ${field})`, withRuntime(async ({ rt, events }) => {
      const error = await rejection(rt.submit({ type: 'job', ...fields } as unknown as PayloadInput));
      assert.deepEqual(error.fields, [field]);
      await rt.idle();
      assert.equal(totals(rt).accepted, 0);
      assert.equal(events.of('accepted').length, 0);
    }));
  }

  test('accepts data just under maxDataBytes', withRuntime(async ({ rt }) => {
    const id = await rt.submit({ type: 'job', data: 'a'.repeat(60) }); // 62 bytes of JSON
    assert.equal(typeof id, 'string');
  }));

  test('a payload that is not an object is rejected as a whole', withRuntime(async ({ rt }) => {
    for (const input of [null, [], 'job', 42]) {
      const error = await rejection(rt.submit(input as unknown as PayloadInput));
      assert.deepEqual(error.fields, ['payload']);
    }
    assert.equal(totals(rt).accepted, 0);
  }));

  test('the runtime keeps serving after rejecting bad input', withRuntime(async ({ rt }) => {
    await rejection(rt.submit({ type: 'job', priority: 99 }));
    const id = await rt.submit({ type: 'job' });
    assert.equal(await rt.waitFor(id), 'ok');
  }));
});

describe('submitMany validation', () => {
  test('one bad payload among good ones enqueues none and names payloads[i].field', withRuntime(async ({ rt, events }) => {
    const inputs = [
      { type: 'job', data: 1 },
      { type: 'job', priority: 'urgent' },
      { type: 'job', data: 3 },
      { type: 'job', delay: -5, colour: 'red' },
      { type: 'job', data: 5 },
    ] as unknown as PayloadInput[];
    const error = await rejection(rt.submitMany(inputs));
    assert.deepEqual(new Set(error.fields), new Set(['payloads[1].priority', 'payloads[3].delay', 'payloads[3].colour']));
    await rt.idle();
    assert.equal(totals(rt).accepted, 0);
    assert.equal(events.all.length, 0);
  }));

  test('a non-array is rejected', withRuntime(async ({ rt }) => {
    const error = await rejection(rt.submitMany({ type: 'job' } as unknown as PayloadInput[]));
    assert.deepEqual(error.fields, ['payloads']);
  }));
});

describe('priorities', () => {
  test('named and numeric priorities map onto the 1–10 scale and their tiers', withRuntime(async ({ rt }) => {
    const cases: Array<[PayloadInput['priority'], number, string]> = [
      [undefined, 5, 'medium'],
      ['critical', 10, 'critical'],
      ['high', 8, 'high'],
      ['medium', 5, 'medium'],
      ['low', 2, 'low'],
      [10, 10, 'critical'],
      [9, 9, 'critical'],
      [7, 7, 'high'],
      [4, 4, 'medium'],
      [3, 3, 'low'],
      [1, 1, 'low'],
    ];
    for (const [priority, number, tier] of cases) {
      const id = await rt.submit({ type: 'job', ...(priority !== undefined && { priority }), delay: 60_000 });
      const view = await rt.get(id);
      assert.equal(view?.priority, number, `priority ${String(priority)}`);
      assert.equal(view?.tier, tier, `tier of ${String(priority)}`);
    }
  }));
});

describe('runtime options', () => {
  test('compileOptions reports every bad option at once with INVALID_OPTIONS', () => {
    const bad = {
      partitions: 0,
      concurrency: 1.5,
      reservedShare: 0.95,
      reservedFor: 'urgent',
      tierCapacity: { low: 0 },
      maxWait: { high: Number.NaN },
      overflow: 'explode',
      overflowWaitMs: -1,
      heavyComplexity: 0,
      maxDataBytes: -1,
      retainTerminal: 1.5,
      handlerDefaults: { timeout: 0, retries: -1, backoff: { factor: Number.NaN, jitter: 2, initialMs: -1 } },
    };
    const error = (() => {
      try {
        compileOptions(bad as never);
      } catch (e) {
        return e;
      }
      return assert.fail('expected OptionsError');
    })();
    assert.ok(error instanceof OptionsError);
    assert.equal(error.code, 'INVALID_OPTIONS');
    assert.deepEqual(new Set(error.problems.map((p) => p.field)), new Set([
      'partitions', 'concurrency', 'reservedShare', 'reservedFor', 'tierCapacity.low', 'maxWait.high', 'overflow',
      'overflowWaitMs', 'heavyComplexity', 'maxDataBytes', 'retainTerminal', 'handlerDefaults.timeout',
      'handlerDefaults.retries', 'handlerDefaults.backoff.factor', 'handlerDefaults.backoff.jitter', 'handlerDefaults.backoff.initialMs',
    ]));
  });

  test('createRuntime throws the same OptionsError', () => {
    assert.throws(() => createRuntime({ concurrency: 0, logger: silentLogger }), (e: unknown) => e instanceof OptionsError && e.code === 'INVALID_OPTIONS');
  });

  test('good options compile with their defaults', () => {
    const o = compileOptions({ concurrency: 4, tierCapacity: { low: 10 } });
    assert.equal(o.concurrency, 4);
    assert.equal(o.tierCapacity.low, 10);
    assert.equal(o.tierCapacity.high, 250_000);
    assert.equal(o.reservedShare, 0.2);
    assert.equal(o.overflow, 'reject');
  });
});

describe('handle()', () => {
  test('rejects a duplicate type with HANDLER_EXISTS and keeps the first handler', withRuntime(async ({ rt }) => {
    assert.throws(() => rt.handle('job', () => 'second'), (e: unknown) => e instanceof TriageError && e.code === 'HANDLER_EXISTS');
    const id = await rt.submit({ type: 'job' });
    assert.equal(await rt.waitFor(id), 'ok');
  }));

  const badOptions: Array<[string, Record<string, unknown>, string]> = [
    ['concurrency 0', { concurrency: 0 }, 'concurrency'],
    ['fractional concurrency', { concurrency: 1.5 }, 'concurrency'],
    ['NaN timeout', { timeout: Number.NaN }, 'timeout'],
    ['timeout beyond the timer range', { timeout: 2 ** 31 }, 'timeout'],
    ['negative retries', { retries: -1 }, 'retries'],
    ['backoff factor NaN', { backoff: { factor: Number.NaN } }, 'backoff.factor'],
    ['negative backoff delay', { backoff: { initialMs: -10 } }, 'backoff.initialMs'],
    ['nonRetryable not a function', { nonRetryable: true }, 'nonRetryable'],
  ];
  for (const [name, options, field] of badOptions) {
    test(`rejects bad handler options: ${name}`, withRuntime(async ({ rt }) => {
      assert.throws(
        () => rt.handle('other', () => 1, options as never),
        (e: unknown) => e instanceof OptionsError && e.code === 'INVALID_OPTIONS' && e.problems.some((p) => p.field === field),
      );
      // Nothing was registered: the type can still be registered properly.
      rt.handle('other', () => 2);
      assert.equal(await rt.waitFor(await rt.submit({ type: 'other' })), 2);
    }));
  }

  test('rejects an empty type and a non-function handler', withRuntime(async ({ rt }) => {
    assert.throws(() => rt.handle('', () => 1), (e: unknown) => e instanceof OptionsError && e.problems.some((p) => p.field === 'type'));
    assert.throws(() => rt.handle('x', 'nope' as never), (e: unknown) => e instanceof OptionsError && e.problems.some((p) => p.field === 'handler'));
  }));
});
