// Rendezvous assignment: every partition has exactly one owner, the spread is even enough, and a
// change of the node set moves only the partitions it must.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assign, ownerOf } from '../src/cluster/assignment.ts';

const NODE_SETS = [
  ['node-1', 'node-2', 'node-3'],
  ['node-a', 'node-b', 'node-c'],
  ['host-1:7070', 'host-2:7070', 'host-3:7070'],
  ['10.0.0.11-4242', '10.0.0.12-4242', '10.0.0.13-4242'],
];

const owners = (partitions: number, nodes: string[]) => Array.from({ length: partitions }, (_, p) => ownerOf(p, nodes));

test('every partition gets exactly one owner, the same whatever the order of the node list', () => {
  const nodes = ['node-1', 'node-2', 'node-3', 'node-4'];
  const map = assign(128, nodes);
  assert.deepEqual([...map.keys()].sort(), nodes);
  const all = [...map.values()].flat().sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 128 }, (_, i) => i));
  const reversed = assign(128, [...nodes].reverse());
  assert.deepEqual([...reversed.entries()].sort(), [...map.entries()].sort());
  for (const [node, partitions] of map) for (const p of partitions) assert.equal(ownerOf(p, nodes), node);
});

test('no nodes: no owner; one node owns everything; an explicit partition list is honoured', () => {
  assert.equal(ownerOf(0, []), undefined);
  assert.equal(assign(8, []).size, 0);
  assert.deepEqual(assign(4, ['solo']).get('solo'), [0, 1, 2, 3]);
  const picked = assign([9, 3, 40], ['x', 'y']);
  assert.deepEqual([...picked.values()].flat().sort((a, b) => a - b), [3, 9, 40]);
});

test('balance: 64 to 256 partitions over 3 nodes stay within ±35% of an even share', () => {
  for (const nodes of NODE_SETS) {
    for (const partitions of [64, 96, 128, 256]) {
      const even = partitions / nodes.length;
      for (const [node, owned] of assign(partitions, nodes)) {
        const off = Math.abs(owned.length - even) / even;
        assert.ok(off <= 0.35, `${node} owns ${owned.length} of ${partitions} (${(off * 100).toFixed(0)}% off an even ${even.toFixed(1)})`);
      }
    }
  }
});

test('balance over many node sets matches independent uniform choices (the hash has no bias)', () => {
  // Each partition's owner should be uniform over the nodes: over 500 random-looking 3-node sets
  // the mean share is P/N and the spread matches a binomial's (sd = sqrt(P·1/3·2/3) ≈ 3.8 at P=64).
  const shares: number[] = [];
  for (let s = 0; s < 500; s++) {
    const nodes = [0, 1, 2].map((i) => `worker-${s}-${i}`);
    for (const owned of assign(64, nodes).values()) shares.push(owned.length);
  }
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  const sd = Math.sqrt(shares.reduce((a, b) => a + (b - mean) ** 2, 0) / shares.length);
  assert.ok(Math.abs(mean - 64 / 3) < 1e-9, `mean ${mean}`);
  assert.ok(sd > 3 && sd < 4.6, `sd ${sd.toFixed(2)} is not a binomial's 3.8`);
  const within = shares.filter((n) => Math.abs(n - 64 / 3) <= 0.35 * (64 / 3)).length / shares.length;
  assert.ok(within > 0.9, `only ${(within * 100).toFixed(1)}% of shares within ±35%`);
});

test('a node joining takes about P/(N+1) partitions, and only partitions move to it', () => {
  for (const nodes of NODE_SETS) {
    for (const partitions of [64, 256]) {
      const before = owners(partitions, nodes);
      const after = owners(partitions, [...nodes, 'newcomer']);
      const moved = before.flatMap((owner, p) => (owner === after[p] ? [] : [p]));
      for (const p of moved) assert.equal(after[p], 'newcomer', `partition ${p} moved between old nodes`);
      const expected = partitions / (nodes.length + 1);
      assert.ok(Math.abs(moved.length - expected) <= 0.35 * expected, `${moved.length} moved, expected about ${expected}`);
    }
  }
});

test('a node leaving gives up only its own partitions, spread over the rest', () => {
  for (const nodes of NODE_SETS) {
    const all = [...nodes, 'node-x'];
    const before = owners(256, all);
    for (const leaving of all) {
      const after = owners(256, all.filter((n) => n !== leaving));
      for (let p = 0; p < 256; p++) {
        if (before[p] === leaving) assert.notEqual(after[p], leaving);
        else assert.equal(after[p], before[p], `partition ${p} moved although ${before[p]} stayed`);
      }
      const inherited = new Set(before.flatMap((owner, p) => (owner === leaving ? [after[p]] : [])));
      assert.ok(inherited.size > 1, `all of ${leaving}'s partitions went to one node`);
    }
  }
});
