/**
 * A seeded generator of bad payloads for the validation fuzz tests: a good payload with one or more
 * defects drawn from every kind of bad input the runtime must refuse (wrong types, out-of-range
 * numbers and dates, impossible calendar dates, data the journal cannot hold, oversized tags,
 * throwing getters, Proxies, revoked Proxies, non-objects), and batches of them for `submitMany`
 * (with good payloads mixed in, holes, repeated refs).
 */
import { prng } from './helpers.ts';

type Random = () => number;
/** Changes the payload in place, or returns what replaces it altogether. */
type Defect = (payload: Record<string, unknown>, random: Random) => void | { readonly replacement: unknown };

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;

function circular(): unknown {
  const value: Record<string, unknown> = { a: 1 };
  value.self = value;
  return value;
}

function throwingGetter(field: string): Record<string, unknown> {
  return Object.defineProperty({ type: 'fuzz' }, field, { enumerable: true, get: () => { throw new Error('getter threw'); } });
}

function throwingProxy(target: object, trap: 'get' | 'ownKeys' | 'getOwnPropertyDescriptor'): object {
  return new Proxy(target, { [trap]: () => { throw new Error(`${trap} trap threw`); } });
}

function revoked(): object {
  const { proxy, revoke } = Proxy.revocable({ type: 'fuzz' }, {});
  revoke();
  return proxy;
}

const BAD_TIMES: readonly unknown[] = [
  1e300, -5, 8.64e15 + 1, Number.NaN, Infinity, '2024-02-30', '2023-02-29', '2024-00-10', '2024-13-01', '2024-04-31',
  '2024-01-01T25:00:00Z', 'tomorrow', {}, [], true, new Date(Number.NaN), `${'9'.repeat(300)}`,
];

/** Each defect makes the payload it is given bad (or returns a bad replacement). */
const DEFECTS: readonly Defect[] = [
  (p, r) => { p[`unknown${Math.floor(r() * 1000)}`] = 1; },
  (p, r) => { p.type = pick(r, ['', 7, null, {}, 'no-such-handler', ['fuzz']]); },
  (p, r) => { p.priority = pick(r, [Number.NaN, 0, 11, 'urgent', 1.5, Infinity, -1, '5', null]); },
  (p, r) => { p.complexity = pick(r, [-1, 0, 11, 'x', Number.NaN, 1e300]); },
  (p, r) => { p.runAt = pick(r, BAD_TIMES); },
  (p, r) => { p.deadline = pick(r, BAD_TIMES); },
  (p) => { p.runAt = Date.now() + 10_000; p.deadline = Date.now() + 5_000; },
  (p, r) => { p.delay = pick(r, [-1, 2 ** 31, 'soon', Number.NaN, 1e300]); },
  (p) => { p.delay = 10; p.runAt = Date.now() + 10; },
  (p) => { p.data = circular(); },
  (p) => { p.data = { amount: 10n }; },
  (p) => { p.data = () => 1; },
  (p, r) => { p.data = pick(r, [{ nested: { fn() { return 1; } } }, [1, 2, () => 3], { s: Symbol('s') }, Symbol('top')]); },
  (p) => { p.data = Object.defineProperty({}, 'secret', { enumerable: true, get: () => { throw new Error('getter threw'); } }); },
  (p, r) => { p.data = throwingProxy({ a: 1 }, pick(r, ['get', 'ownKeys', 'getOwnPropertyDescriptor'] as const)); },
  (p) => { p.data = 'x'.repeat(2_000); },
  (p, r) => { p.tags = pick(r, ['urgent', [''], [1], [null], {}, Array.from({ length: 40 }, (_, i) => `tag-${i}-${'t'.repeat(60)}`)]); },
  (p) => { p.data = 'x'.repeat(900); p.tags = ['a'.repeat(100), 'b'.repeat(100)]; },
  (p, r) => { p.clientId = pick(r, ['', 5, 'c'.repeat(600), {}]); },
  (p, r) => { p.idempotencyKey = pick(r, ['', 9, 'k'.repeat(513)]); },
  (p) => { p.idempotencyKey = 'key'; p.dependsOn = ['p0-abc']; },
  (p, r) => { p.dependsOn = pick(r, ['a', [''], [1], ['same', 'same'], ['neither-id-nor-ref'], {}]); },
  (p, r) => { p.retries = pick(r, [-1, 1.5, 1001, 'twice']); },
  (p, r) => { p.backoff = pick(r, [{ factor: 0 }, { bogus: 1 }, null, 'fast', { jitter: 2 }, { initialMs: -1 }]); },
  (p, r) => { p.timeout = pick(r, [0, -1, 'x', 2 ** 31, Number.NaN]); },
  (p, r) => { p.onDependencyFailure = pick(r, ['maybe', 1, null]); },
  (p, r) => { p.ref = pick(r, ['', 3, 'r'.repeat(513)]); },
  (_, r) => ({ replacement: throwingGetter(pick(r, ['type', 'data', 'priority', 'runAt', 'tags', 'dependsOn', 'clientId'])) }),
  (p, r) => ({ replacement: throwingProxy(p, pick(r, ['get', 'ownKeys', 'getOwnPropertyDescriptor'] as const)) }),
  () => ({ replacement: revoked() }),
  (_, r) => ({ replacement: pick(r, [null, undefined, 5, 'payload', [], [{ type: 'fuzz' }], true]) }),
];

/** A payload the runtime accepts: handler type `fuzz`. */
export function goodPayload(random: Random): Record<string, unknown> {
  return { type: 'fuzz', data: { n: Math.floor(random() * 100) }, priority: 1 + Math.floor(random() * 10), clientId: `c${Math.floor(random() * 5)}` };
}

/** `count` bad payloads from `seed`, each with one to three defects. */
export function badPayloads(seed: number, count: number): unknown[] {
  const random = prng(seed);
  return Array.from({ length: count }, () => {
    const payload = goodPayload(random);
    const defects = 1 + Math.floor(random() * 3);
    for (let d = 0; d < defects; d++) {
      const replaced = pick(random, DEFECTS)(payload, random);
      if (replaced) return replaced.replacement;
    }
    return payload;
  });
}

/**
 * Batches for `submitMany`, `count` bad payloads in all: each batch holds one to three of them among
 * good payloads; some batches have a hole, some two good payloads with the same ref.
 */
export function badBatches(seed: number, count: number): unknown[][] {
  const random = prng(seed ^ 0x5eed);
  const bad = badPayloads(seed, count);
  const batches: unknown[][] = [];
  for (let i = 0; i < bad.length;) {
    const n = Math.min(1 + Math.floor(random() * 3), bad.length - i);
    const batch: unknown[] = [...bad.slice(i, i + n)];
    i += n;
    for (let g = Math.floor(random() * 3); g > 0; g--) batch.splice(Math.floor(random() * (batch.length + 1)), 0, goodPayload(random));
    batches.push(batch);
  }
  const good = () => goodPayload(random);
  // Defects of the batch itself, each with only good payloads otherwise.
  batches.push([good(), , good()] as unknown[]); // eslint-disable-line no-sparse-arrays
  batches.push(Object.assign(new Array(3), { 1: good() }));
  batches.push([{ ...good(), ref: 'twice' }, { ...good(), ref: 'twice' }]);
  batches.push([{ ...good(), ref: 'a' }, { ...good(), ref: 'a' }, { ...good(), dependsOn: ['a'] }]);
  batches.push(new Proxy([good(), good()], { get: (target, key) => { if (key === '1') throw new Error('element trap threw'); return Reflect.get(target, key); } }) as unknown[]);
  return batches;
}
