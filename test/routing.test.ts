import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { routeTier, tierOfPriority } from '../actors/partition/routing.ts';
import { partitionOf } from '../src/core/hash.ts';
import { IdGenerator } from '../src/core/ids.ts';
import { urgency } from '../src/execution/aging.ts';
import { backoffDelay } from '../src/execution/backoff.ts';
import { compileOptions, tierSlotLimit, type CompiledBackoff } from '../src/options.ts';
import { TIERS, type Tier } from '../src/payload.ts';
import { prng } from './helpers.ts';

const policy = { heavyComplexity: 8 };

describe('tierOfPriority / routeTier', () => {
  test('priority bands map onto tiers', () => {
    const expected: Record<number, Tier> = {
      1: 'low', 2: 'low', 3: 'low', 4: 'medium', 5: 'medium', 6: 'medium', 7: 'high', 8: 'high', 9: 'critical', 10: 'critical',
    };
    for (let p = 1; p <= 10; p++) {
      assert.equal(tierOfPriority(p), expected[p], `priority ${p}`);
      assert.equal(routeTier({ priority: p, complexity: 1 }, policy), expected[p], `light payload of priority ${p}`);
    }
  });

  test('heavy payloads go one tier down; the threshold is inclusive', () => {
    assert.equal(routeTier({ priority: 8, complexity: 7.9 }, policy), 'high');
    assert.equal(routeTier({ priority: 8, complexity: 8 }, policy), 'medium');
    assert.equal(routeTier({ priority: 5, complexity: 10 }, policy), 'low');
    assert.equal(routeTier({ priority: 5, complexity: 3 }, { heavyComplexity: 3 }), 'low');
  });

  test('critical is never demoted, low stays low', () => {
    for (const complexity of [1, 8, 10]) {
      assert.equal(routeTier({ priority: 10, complexity }, policy), 'critical');
      assert.equal(routeTier({ priority: 9, complexity }, policy), 'critical');
      assert.equal(routeTier({ priority: 1, complexity }, policy), 'low');
      assert.equal(routeTier({ priority: 3, complexity }, policy), 'low');
    }
  });

  test('heavyComplexity 11 turns demotion off', () => {
    for (let p = 1; p <= 10; p++) assert.equal(routeTier({ priority: p, complexity: 10 }, { heavyComplexity: 11 }), tierOfPriority(p));
  });
});

describe('urgency (aging)', () => {
  const maxWait = 1000;

  test('rises with wait within the band', () => {
    for (const tier of TIERS) {
      let previous = -Infinity;
      for (const waited of [0, 1, 100, 500, 999]) {
        const u = urgency(tier, waited, maxWait);
        assert.ok(u > previous, `${tier} at ${waited} ms`);
        previous = u;
      }
    }
  });

  test('stays below the next tier until maxWait', () => {
    for (let i = 1; i < TIERS.length; i++) {
      const lower = TIERS[i] as Tier;
      const higher = TIERS[i - 1] as Tier;
      assert.ok(urgency(lower, 999.999, maxWait) < urgency(higher, 0, maxWait), `${lower} almost overdue vs fresh ${higher}`);
    }
    assert.ok(urgency('low', 0, maxWait) >= 0);
  });

  test('overdue beats everything not overdue, and further past its deadline beats nearer, whatever the tier', () => {
    const overdueLow = urgency('low', 1000, maxWait);
    for (const tier of TIERS) assert.ok(overdueLow > urgency(tier, 999, maxWait), `overdue low vs ${tier}`);
    assert.ok(overdueLow > urgency('critical', 900, 1000));
    assert.ok(urgency('low', 3000, maxWait) > urgency('critical', 1500, maxWait), '2 s past its deadline beats 0.5 s');
    // By deadline, not by wait over maxWait: 600 ms past a 2 s maxWait beats 500 ms past a 500 ms one (a ratio of 2).
    assert.ok(urgency('low', 2_600, 2_000) > urgency('high', 1_000, 500), 'the earlier deadline goes first');
  });

  test('a negative wait (clock skew) does not rank below the tier floor', () => {
    assert.equal(urgency('high', -50, maxWait), urgency('high', 0, maxWait));
  });
});

describe('tierSlotLimit', () => {
  const options = compileOptions({});

  test('by default 20% of the slots are held for high and above', () => {
    assert.equal(tierSlotLimit(options, 10, 'low'), 8);
    assert.equal(tierSlotLimit(options, 10, 'medium'), 8);
    assert.equal(tierSlotLimit(options, 10, 'high'), 10);
    assert.equal(tierSlotLimit(options, 10, 'critical'), 10);
    assert.equal(tierSlotLimit(options, 100, 'low'), 80);
  });

  test('at least one slot stays reserved once there are two; a single slot is never withheld', () => {
    assert.equal(tierSlotLimit(options, 1, 'low'), 1);
    assert.equal(tierSlotLimit(options, 2, 'low'), 1);
    assert.equal(tierSlotLimit(options, 4, 'medium'), 3);
  });

  test('reservedShare 0 withholds nothing; reservedFor moves the line', () => {
    assert.equal(tierSlotLimit(compileOptions({ reservedShare: 0 }), 10, 'low'), 10);
    const critOnly = compileOptions({ reservedFor: 'critical', reservedShare: 0.5 });
    assert.equal(tierSlotLimit(critOnly, 10, 'high'), 5);
    assert.equal(tierSlotLimit(critOnly, 10, 'critical'), 10);
    const mediumUp = compileOptions({ reservedFor: 'medium' });
    assert.equal(tierSlotLimit(mediumUp, 10, 'medium'), 10);
    assert.equal(tierSlotLimit(mediumUp, 10, 'low'), 8);
  });
});

describe('backoffDelay', () => {
  const b: CompiledBackoff = { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0 };

  test('exponential from initialMs, then capped at maxMs', () => {
    const delays = [1, 2, 3, 4, 5, 6, 10].map((retry) => backoffDelay(b, retry, () => 0));
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 1000]);
    assert.deepEqual([1, 2, 3].map((r) => backoffDelay({ ...b, factor: 3 }, r, () => 0)), [100, 300, 900]);
  });

  test('jitter only shortens, never below (1 − jitter) of the delay, never above the cap', () => {
    const jittered = { ...b, jitter: 0.3 };
    const random = prng(42);
    for (let i = 0; i < 1000; i++) {
      const retry = 1 + (i % 8);
      const full = backoffDelay(b, retry, () => 0);
      const d = backoffDelay(jittered, retry, random);
      assert.ok(d <= full && d <= b.maxMs, `delay ${d} over ${full}`);
      assert.ok(d >= Math.floor(full * 0.7), `delay ${d} under 70% of ${full}`);
    }
    assert.equal(backoffDelay(jittered, 1, () => 0), 100, 'random 0: no shortening');
    assert.equal(backoffDelay(jittered, 4, () => 0.999999), Math.round(800 * (1 - 0.3 * 0.999999)));
  });
});

test('an id made whole with its partition hashes as its unique part does', () => {
  const ids = new IdGenerator();
  for (const partitions of [1, 7, 16, 1_000]) {
    for (let i = 0; i < 500; i++) {
      const id = ids.nextOwned(partitions);
      const unique = id.slice(0, id.lastIndexOf('.'));
      assert.equal(ids.lastPartition, partitionOf(unique, partitions));
      assert.equal(id, `${unique}.${ids.lastPartition.toString(36)}`);
    }
  }
});
