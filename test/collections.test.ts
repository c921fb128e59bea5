import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PMap, PQueue, type TransientPMap } from '../src/collections/index.ts';
import { hashString } from '../src/collections/pmap.ts';
import { TimerHeap } from '../src/collections/timer-heap.ts';
import { prng } from './helpers.ts';

const int = (rnd: () => number, n: number): number => Math.floor(rnd() * n);

// Two groups of four keys with identical 32-bit hashes (found offline by extending FNV-1a
// state collisions), so they exercise every trie level plus the Collision node.
const QUAD_A = ['c651hfCagD8d', 'c6ktqrCagD8d', 'cgss39sa2wO', 'c22c9t9sa2wO'];
const QUAD_B = ['c651hfw51s06', 'c6ktqrw51s06', 'cgss3DYMsVk', 'c22c9tDYMsVk'];

function sortedEntries<V>(it: Iterable<readonly [string, V]>): Array<[string, V]> {
  return [...it].map(([k, v]): [string, V] => [k, v]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
}

function assertMapEquals<V>(map: PMap<V>, model: Map<string, V>): void {
  assert.equal(map.size, model.size);
  assert.deepEqual(sortedEntries(map), sortedEntries(model));
}

test('hashString: the quad keys really collide', () => {
  for (const quad of [QUAD_A, QUAD_B]) {
    const hashes = new Set(quad.map(hashString));
    assert.equal(hashes.size, 1);
  }
  assert.notEqual(hashString(QUAD_A[0]!), hashString(QUAD_B[0]!));
});

test('PMap: random set/delete/get against a Map model, old versions intact', () => {
  const rnd = prng(1);
  const pool = [...QUAD_A, ...QUAD_B];
  for (let i = 0; i < 3000; i++) pool.push(`job-${int(rnd, 1e9).toString(36)}-${i}`);
  let map = PMap.empty<number>();
  const model = new Map<string, number>();
  const snapshots: Array<[PMap<number>, Map<string, number>]> = [];
  for (let op = 0; op < 30000; op++) {
    // Collision keys are picked often so their node is built and torn down many times.
    const key = rnd() < 0.1 ? pool[int(rnd, 8)]! : pool[int(rnd, pool.length)]!;
    const r = rnd();
    if (r < 0.5) {
      const value = int(rnd, 5);
      const next = map.set(key, value);
      if (model.get(key) === value) assert.equal(next, map);
      model.set(key, value);
      map = next;
    } else if (r < 0.8) {
      const next = map.delete(key);
      if (!model.has(key)) assert.equal(next, map);
      model.delete(key);
      map = next;
    } else {
      assert.equal(map.get(key), model.get(key));
      assert.equal(map.has(key), model.has(key));
    }
    assert.equal(map.size, model.size);
    if (op % 2000 === 0) snapshots.push([map, new Map(model)]);
  }
  assertMapEquals(map, model);
  for (const [snap, snapModel] of snapshots) assertMapEquals(snap, snapModel);
  for (const key of model.keys()) map = map.delete(key);
  assert.equal(map, PMap.empty<number>());
});

test('PMap: collision node insert, replace, delete in every order', () => {
  const orders = [
    [0, 1, 2, 3],
    [3, 2, 1, 0],
    [1, 3, 0, 2],
    [2, 0, 3, 1],
  ];
  for (const order of orders) {
    let map = PMap.fromEntries(QUAD_A.map((k, i): [string, number] => [k, i]));
    map = map.set('other', -1).set(QUAD_B[0]!, 100);
    const full = map;
    assert.equal(map.size, 6);
    map = map.set(QUAD_A[2]!, 22);
    assert.equal(map.get(QUAD_A[2]!), 22);
    assert.equal(full.get(QUAD_A[2]!), 2);
    const model = new Map(full);
    for (const i of order) {
      map = map.delete(QUAD_A[i]!);
      model.delete(QUAD_A[i]!);
      assert.equal(map.has(QUAD_A[i]!), false);
      for (const k of QUAD_A) assert.equal(map.has(k), model.has(k), k);
      assert.equal(map.delete(QUAD_A[i]!), map);
    }
    assertMapEquals(map, new Map([['other', -1], [QUAD_B[0]!, 100]]));
    assert.equal(full.size, 6);
    assert.equal(full.get(QUAD_A[3]!), 3);
  }
});

test('PMap: empty, identity, undefined values, iteration', () => {
  const empty = PMap.empty<string>();
  assert.equal(empty, PMap.empty<number>() as unknown);
  assert.equal(empty.size, 0);
  assert.equal(empty.get('x'), undefined);
  assert.equal(empty.delete('x'), empty);
  const one = empty.set('x', 'a');
  assert.equal(one.set('x', 'a'), one);
  assert.equal(one.delete('x'), empty);
  assert.equal(empty.size, 0);

  const u = PMap.empty<undefined>().set('k', undefined);
  assert.equal(u.has('k'), true);
  assert.equal(u.has('j'), false);
  assert.equal(u.size, 1);

  const src = Array.from({ length: 500 }, (_, i): [string, number] => [`k${i}`, i]);
  const map = PMap.fromEntries(src);
  assert.equal(map.size, 500);
  const entries = [...map];
  assert.deepEqual(sortedEntries(entries), sortedEntries(src));
  assert.deepEqual([...map.keys()], entries.map(([k]) => k));
  assert.deepEqual([...map.values()], entries.map(([, v]) => v));
  assert.deepEqual([...map.entries()], entries);
});

/** Applies one random write to both a transient and a plain PMap + Map model; checks reads. */
function randomOp(
  rnd: () => number,
  pool: readonly string[],
  tx: TransientPMap<number>,
  plain: PMap<number>,
  model: Map<string, number>,
): PMap<number> {
  // Collision keys are picked often so their node is built and torn down inside transients.
  const key = rnd() < 0.1 ? pool[int(rnd, 8)]! : pool[int(rnd, pool.length)]!;
  const r = rnd();
  if (r < 0.5) {
    const value = int(rnd, 5);
    tx.set(key, value);
    model.set(key, value);
    plain = plain.set(key, value);
  } else if (r < 0.8) {
    tx.delete(key);
    model.delete(key);
    plain = plain.delete(key);
  } else {
    assert.equal(tx.get(key), model.get(key));
    assert.equal(tx.has(key), model.has(key));
  }
  assert.equal(tx.size, model.size);
  return plain;
}

test('TransientPMap: random batches against a Map model; bases and earlier results intact', () => {
  const rnd = prng(4);
  const pool = [...QUAD_A, ...QUAD_B];
  for (let i = 0; i < 1500; i++) pool.push(`job-${int(rnd, 1e9).toString(36)}-${i}`);
  let map = PMap.empty<number>();
  let model = new Map<string, number>();
  const snapshots: Array<[PMap<number>, Map<string, number>]> = [[map, new Map()]];
  for (let batch = 0; batch < 250; batch++) {
    // Sometimes branch from an older result: its nodes may carry a dead transient's token.
    if (rnd() < 0.2) {
      [map, model] = snapshots[int(rnd, snapshots.length)]!;
      model = new Map(model);
    }
    const base = map;
    const baseModel = new Map(model);
    const tx = map.asTransient();
    // A second live transient on the same base must not see, or be seen by, the first one.
    const other = rnd() < 0.3 ? base.asTransient() : undefined;
    const otherModel = new Map(baseModel);
    let otherPlain = base;
    let plain = base;
    const ops = rnd() < 0.5 ? 1 + int(rnd, 10) : 1 + int(rnd, 300);
    for (let op = 0; op < ops; op++) {
      plain = randomOp(rnd, pool, tx, plain, model);
      if (other) otherPlain = randomOp(rnd, pool, other, otherPlain, otherModel);
    }
    map = tx.persistent();
    assertMapEquals(map, model);
    // Same keys in the same trie order as plain set/delete: transients keep the canonical form.
    assert.deepEqual([...map.keys()], [...plain.keys()]);
    if (other) {
      const otherMap = other.persistent();
      assertMapEquals(otherMap, otherModel);
      assert.deepEqual([...otherMap.keys()], [...otherPlain.keys()]);
    }
    assertMapEquals(base, baseModel);
    if (batch % 10 === 0) snapshots.push([map, new Map(model)]);
  }
  for (const [snap, snapModel] of snapshots) assertMapEquals(snap, snapModel);
});

test('TransientPMap: colliding keys inserted, replaced, deleted in every order', () => {
  const base = PMap.fromEntries([['other', -1], [QUAD_B[0]!, 100]]);
  for (const order of [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2], [2, 0, 3, 1]]) {
    const tx = base.asTransient();
    for (const i of order) tx.set(QUAD_A[i]!, i);
    assert.equal(tx.size, 6);
    tx.set(QUAD_A[order[1]!]!, 22);
    assert.equal(tx.size, 6);
    const full = tx.persistent();
    const model = new Map(full);
    const tx2 = full.asTransient();
    for (const i of order) {
      tx2.delete(QUAD_A[i]!);
      model.delete(QUAD_A[i]!);
      for (const k of QUAD_A) assert.equal(tx2.has(k), model.has(k), k);
      assert.equal(tx2.size, model.size);
    }
    assertMapEquals(tx2.persistent(), new Map([['other', -1], [QUAD_B[0]!, 100]]));
    assert.equal(full.size, 6);
    assert.equal(full.get(QUAD_A[order[1]!]!), 22);
    assertMapEquals(base, new Map([['other', -1], [QUAD_B[0]!, 100]]));
  }
});

test('TransientPMap: size bookkeeping, identity of unchanged and emptied results', () => {
  const base = PMap.fromEntries(Array.from({ length: 100 }, (_, i): [string, number] => [`k${i}`, i]));
  const tx = base.asTransient();
  tx.set('k1', 1); // identical value
  tx.delete('absent');
  assert.equal(tx.size, 100);
  assert.equal(tx.persistent(), base, 'no change: the base itself comes back');

  const t2 = base.asTransient();
  t2.set('new', -1);
  assert.equal(t2.size, 101);
  t2.set('new', -2); // replace
  t2.set('k5', 50);
  assert.equal(t2.size, 101);
  t2.delete('k7');
  t2.delete('k7');
  assert.equal(t2.size, 100);
  assert.equal(t2.get('new'), -2);
  assert.equal(t2.has('k7'), false);
  const m2 = t2.persistent();
  assert.equal(m2.size, 100);
  assert.equal(m2.get('k5'), 50);
  assert.equal(base.get('k5'), 5);
  assert.equal(base.has('new'), false);

  const t3 = m2.asTransient();
  for (const k of m2.keys()) t3.delete(k);
  assert.equal(t3.size, 0);
  assert.equal(t3.persistent(), PMap.empty<number>());
  assert.equal(m2.size, 100);

  const t4 = PMap.empty<undefined>().asTransient();
  t4.set('u', undefined);
  assert.equal(t4.has('u'), true);
  assert.equal(t4.get('u'), undefined);
  assert.equal(t4.size, 1);
  assert.equal(t4.persistent().has('u'), true);
});

test('TransientPMap: every call throws once persistent() was called; the result stays put', () => {
  const base = PMap.empty<number>().set('a', 1);
  const tx = base.asTransient();
  tx.set('b', 2);
  const done = tx.persistent();
  const dead = /already made persistent/;
  assert.throws(() => tx.set('c', 3), dead);
  assert.throws(() => tx.delete('a'), dead);
  assert.throws(() => tx.get('a'), dead);
  assert.throws(() => tx.has('a'), dead);
  assert.throws(() => tx.size, dead);
  assert.throws(() => tx.persistent(), dead);
  assertMapEquals(done, new Map([['a', 1], ['b', 2]]));
  assertMapEquals(base, new Map([['a', 1]]));
});

test('PQueue: random push/shift against an array model, branches and old versions intact', () => {
  const rnd = prng(2);
  let q = PQueue.empty<number>();
  let model: number[] = [];
  const snapshots: Array<[PQueue<number>, number[]]> = [];
  let n = 0;
  for (let op = 0; op < 30000; op++) {
    const r = rnd();
    // Bias toward growth in the first half, draining in the second, so chunks fill and empty.
    if (r < (op < 15000 ? 0.65 : 0.35)) {
      q = q.push(n);
      model.push(n++);
    } else if (r < 0.95) {
      q = q.shift();
      model.shift();
    } else if (snapshots.length > 0) {
      // Branch from an old version: its shared tail buffer must be copied, not overwritten.
      const [old, oldModel] = snapshots[int(rnd, snapshots.length)]!;
      q = old.push(-n);
      model = [...oldModel, -n];
      n++;
    }
    assert.equal(q.size, model.length);
    assert.equal(q.peek(), model[0]);
    if (op % 500 === 0) snapshots.push([q, [...model]]);
  }
  assert.deepEqual(q.toArray(), model);
  for (const [snap, snapModel] of snapshots) {
    assert.equal(snap.size, snapModel.length);
    assert.deepEqual(snap.toArray(), snapModel);
    assert.deepEqual([...snap], snapModel);
  }
});

test('PQueue: FIFO across many chunks, empty behaviour', () => {
  const empty = PQueue.empty<number>();
  assert.equal(empty.shift(), empty);
  assert.equal(empty.peek(), undefined);
  assert.deepEqual(empty.toArray(), []);
  let q = PQueue.from(Array.from({ length: 10000 }, (_, i) => i));
  assert.equal(q.size, 10000);
  for (let i = 0; i < 10000; i++) {
    assert.equal(q.peek(), i);
    if (i % 7 === 0) q = q.push(10000 + i);
    q = q.shift();
  }
  const rest = q.toArray();
  assert.equal(rest.length, Math.ceil(10000 / 7));
  assert.deepEqual(rest, Array.from({ length: rest.length }, (_, i) => 10000 + 7 * i));
  assert.equal(q.push(1).size, rest.length + 1);
  assert.equal(empty.size, 0);
});

test('TimerHeap: random inserts/pops against a sorted model, FIFO among equal keys', () => {
  const rnd = prng(5);
  const heap = new TimerHeap<number>();
  const model: Array<{ key: number; value: number }> = [];
  let seq = 0;
  for (let op = 0; op < 20000; op++) {
    if (rnd() < 0.6) {
      const key = rnd() < 0.5 ? 1_800_000_000_000 + int(rnd, 10) : int(rnd, 1000) / 7; // many ties, some fractions
      heap.insert(key, seq);
      let lo = 0;
      let hi = model.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (model[mid]!.key <= key) lo = mid + 1;
        else hi = mid;
      }
      model.splice(lo, 0, { key, value: seq++ });
    } else {
      assert.equal(heap.peekKey(), model[0]?.key);
      assert.equal(heap.pop(), model.shift()?.value);
    }
    assert.equal(heap.size, model.length);
  }
  while (model.length > 0) assert.equal(heap.pop(), model.shift()!.value);
  assert.equal(heap.pop(), undefined);
});
