// Bad input that used to get through or escape: throwing getters and Proxies, holes in a batch,
// tags past maxDataBytes, out-of-range and impossible dates, data the journal would change, repeated
// refs. Then a seeded fuzz of generated bad payloads through submit and submitMany, in memory and on
// Redis: every one refused with a coded error, none runs, no unhandled rejection, good work runs after.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { createRuntime, silentLogger, TriageError, ValidationError, type CreateRuntimeOptions, type PayloadInput, type Runtime } from '../src/index.ts';
import { badBatches, badPayloads, goodPayload } from './bad-payloads.ts';
import { prng } from './helpers.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

const MAX_DATA_BYTES = 1_024;
let runtime: Runtime | undefined;
let ran = 0;
let accepted = 0;

function start(options: CreateRuntimeOptions = {}): Runtime {
  ran = 0;
  accepted = 0;
  const rt = (runtime = createRuntime({ partitions: 4, logger: silentLogger, maxDataBytes: MAX_DATA_BYTES, ...options }));
  rt.handle('fuzz', (data: { n: number }) => { ran++; return data; });
  rt.events.on('accepted', () => accepted++);
  return rt;
}

afterEach(async () => {
  await runtime?.stop();
  runtime = undefined;
});

/** The problems `promise` was refused with; fails unless it is a ValidationError. */
async function refusedFields(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(() => assert.fail('expected a refusal'), (e: unknown) => e);
  assert.ok(error instanceof ValidationError, `a ValidationError, not ${String(error)}`);
  return error.fields;
}

describe('bad input is refused, naming the field', () => {
  test('a throwing getter or Proxy: submit rejects and submitMany never throws', async () => {
    const rt = start();
    const getter = Object.defineProperty({ type: 'fuzz' }, 'data', { enumerable: true, get: () => { throw new Error('no'); } });
    assert.deepEqual(await refusedFields(rt.submit(getter as PayloadInput)), ['data']);
    const typeGetter = Object.defineProperty({}, 'type', { enumerable: true, get: () => { throw new Error('no'); } });
    assert.deepEqual(await refusedFields(rt.submit(typeGetter as PayloadInput)), ['type']);
    const keys = new Proxy({ type: 'fuzz' }, { ownKeys: () => { throw new Error('no'); } });
    assert.deepEqual(await refusedFields(rt.submit(keys as PayloadInput)), ['payload']);
    const { proxy, revoke } = Proxy.revocable({ type: 'fuzz' }, {});
    revoke();
    assert.deepEqual(await refusedFields(rt.submit(proxy as PayloadInput)), ['payload']);
    const inData = { type: 'fuzz', data: new Proxy({ a: 1 }, { get: () => { throw new Error('no'); } }) };
    assert.deepEqual(await refusedFields(rt.submit(inData)), ['data']);
    let many: Promise<unknown> | undefined;
    assert.doesNotThrow(() => { many = rt.submitMany([{ type: 'fuzz' }, getter as PayloadInput]); });
    assert.deepEqual(await refusedFields(many!), ['payloads[1].data']);
    const elements = new Proxy([{ type: 'fuzz' }], { get: (t, k) => { if (k === '0') throw new Error('no'); return Reflect.get(t, k); } });
    assert.deepEqual(await refusedFields(rt.submitMany(elements)), ['payloads[0]']);
    assert.deepEqual(await refusedFields(rt.submitMany(proxy as unknown as PayloadInput[])), ['payloads']);
    await rt.idle();
    assert.equal(accepted, 0);
  });

  test('a hole in a submitMany array is a missing payload, not a shorter batch', async () => {
    const rt = start();
    // eslint-disable-next-line no-sparse-arrays
    assert.deepEqual(await refusedFields(rt.submitMany([{ type: 'fuzz' }, , { type: 'fuzz' }] as PayloadInput[])), ['payloads[1].payload']);
    assert.deepEqual(await refusedFields(rt.submitMany(new Array(2) as PayloadInput[])), ['payloads[0].payload', 'payloads[1].payload']);
    await rt.idle();
    assert.equal(accepted, 0);
  });

  test('tags count against maxDataBytes', async () => {
    const rt = start();
    assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', tags: Array.from({ length: 100 }, (_, i) => `tag-${i}-${'x'.repeat(50)}`) })), ['tags']);
    assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', data: 'd'.repeat(900), tags: ['t'.repeat(150)] })), ['tags']);
    assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', data: 'd'.repeat(1_100), tags: ['t'] })), ['data']);
    assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', tags: ['é'.repeat(520)] })), ['tags'], 'bytes, not characters');
    const id = await rt.submit({ type: 'fuzz', data: 'd'.repeat(800), tags: ['t'.repeat(100)] });
    assert.equal(await rt.waitFor(id), 'd'.repeat(800));
  });

  test('runAt and deadline past the Date range, and impossible calendar dates, are refused', async () => {
    const rt = start();
    for (const runAt of [1e300, 8.64e15 + 1, '2024-02-30', '2023-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '2024-01-00', new Date(Number.NaN)]) {
      assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', runAt })), ['runAt'], String(runAt));
      assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', deadline: runAt })), ['deadline'], String(runAt));
    }
    await rt.idle();
    assert.equal(accepted, 0);
    // Real dates still pass: a leap day, and an offset that moves the UTC day.
    const leap = await rt.submit({ type: 'fuzz', deadline: '2996-02-29T00:00:00Z' });
    const offset = await rt.submit({ type: 'fuzz', data: { n: 1 }, runAt: '2000-03-01T01:00:00+05:00' });
    assert.deepEqual(await rt.waitFor(offset), { n: 1 });
    assert.equal(await rt.waitFor(leap), undefined);
  });

  test('data holding a function or symbol is refused: the journal would drop it', async () => {
    const rt = start();
    for (const data of [{ f() { return 1; } }, { deep: [1, { g: () => 2 }] }, [Symbol('s')], { s: Symbol('t') }, () => 1]) {
      assert.deepEqual(await refusedFields(rt.submit({ type: 'fuzz', data })), ['data']);
    }
    await rt.idle();
    assert.equal(accepted, 0);
    // What has a toJSON is journalled as it returns: a Date is fine.
    const at = new Date(0);
    const id = await rt.submit({ type: 'fuzz', data: { at } });
    assert.deepEqual(await rt.waitFor(id), { at });
  });

  test('a repeated ref is refused whether or not anything depends on it', async () => {
    const rt = start();
    assert.deepEqual(await refusedFields(rt.submitMany([{ type: 'fuzz', ref: 'a' }, { type: 'fuzz', ref: 'a' }])), ['payloads[1].ref']);
    assert.deepEqual(await refusedFields(rt.submitMany([{ type: 'fuzz', ref: 'a' }, { type: 'fuzz', ref: 'a' }, { type: 'fuzz', dependsOn: ['a'] }])), ['payloads[1].ref']);
    await rt.idle();
    assert.equal(accepted, 0);
  });
});

/** Every generated bad payload refused with a coded error, none runs, no unhandled rejection, then good work runs. */
async function fuzz(rt: Runtime, seed: number): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    const codes = new Map<string, number>();
    const refused = async (submitting: () => Promise<unknown>, what: string) => {
      let promise: Promise<unknown>;
      try {
        promise = submitting();
      } catch (error) {
        return assert.fail(`${what} threw synchronously: ${String(error)}`);
      }
      const error = await promise.then(() => assert.fail(`${what} was accepted`), (e: unknown) => e);
      assert.ok(error instanceof TriageError, `${what} was refused with a coded error, not ${String(error)}`);
      codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
    };
    const singles = badPayloads(seed, 1_000);
    for (const [i, payload] of singles.entries()) await refused(() => rt.submit(payload as PayloadInput), `bad payload #${i}`);
    const batches = badBatches(seed + 1, 1_000);
    for (const [i, batch] of batches.entries()) await refused(() => rt.submitMany(batch as PayloadInput[]), `bad batch #${i}`);
    await rt.idle();
    assert.equal(accepted, 0, 'nothing was accepted');
    assert.equal(ran, 0, 'nothing ran');
    assert.deepEqual([...codes.keys()], ['VALIDATION_FAILED']);
    const random = prng(seed);
    const ids = await rt.submitMany(Array.from({ length: 50 }, () => goodPayload(random) as unknown as PayloadInput));
    await Promise.all(ids.map((id) => rt.waitFor(id)));
    assert.equal(ran, 50, 'good work afterwards runs');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

test('fuzz: 1,000 bad payloads through submit and 1,000 in submitMany batches, in memory', { timeout: 60_000 }, () => fuzz(start(), 14));

test('fuzz: the same on Redis', { timeout: 60_000 }, async (t) => {
  const prefix = freshPrefix('fuzz');
  t.after(() => dropPrefix(prefix));
  await fuzz(start({ redis: { url: REDIS_URL, prefix } }), 41);
});
