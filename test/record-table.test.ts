import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordTable } from '../actors/partition/record-table.ts';

interface Rec { readonly id: string; n: number }

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    return s / 2 ** 32;
  };
}

function sameAsMap(table: RecordTable<Rec>, model: Map<string, Rec>): void {
  assert.equal(table.size, model.size);
  assert.deepEqual([...table.values()].map((r) => r.id), [...model.keys()], 'insertion order');
  for (const [id, rec] of model) assert.equal(table.get(id), rec, id);
}

test('a record table reads like a Map through waves of inserts and deletes and the rebuilds they bring', () => {
  const next = random(7);
  const table = new RecordTable<Rec>();
  const model = new Map<string, Rec>();
  let counter = 0;
  const remove = (): void => {
    const ids = [...model.keys()];
    const id = ids[Math.floor(next() * ids.length)] as string;
    assert.equal(table.delete(id), true);
    model.delete(id);
  };
  // Waves: grow to 3,000 with deletes among the inserts, drain to 20, again: cleared entries pile
  // up past the rebuild threshold twice, each time while the next wave refills the table.
  for (let wave = 0; wave < 6; wave++) {
    if (wave % 2 === 0) {
      while (model.size < 3_000) {
        if (model.size > 0 && next() < 0.3) remove();
        else {
          const rec = { id: `pre${(counter++).toString(36)}.${counter % 16}`, n: counter };
          table.set(rec.id, rec);
          model.set(rec.id, rec);
        }
      }
    } else {
      while (model.size > 20) remove();
    }
    sameAsMap(table, model);
  }
  assert.equal(table.delete('never-there'), false);
  assert.equal(table.has('never-there'), false);
});

test('a record deleted and added again goes last, as in a Map', () => {
  const table = new RecordTable<Rec>();
  for (const id of ['a', 'b', 'c']) table.set(id, { id, n: 0 });
  table.delete('a');
  assert.equal(table.get('a'), undefined);
  assert.equal(table.has('a'), false);
  assert.equal(table.delete('a'), false, 'deleted once');
  table.set('a', { id: 'a', n: 1 });
  assert.deepEqual([...table.keys()], ['b', 'c', 'a']);
  assert.equal(table.size, 3);
});

test('setting an id that is there replaces its record in its place', () => {
  const table = new RecordTable<Rec>();
  table.set('a', { id: 'a', n: 1 });
  table.set('b', { id: 'b', n: 2 });
  table.set('a', { id: 'a', n: 3 });
  assert.deepEqual([...table.entries()].map(([id, r]) => [id, r.n]), [['a', 3], ['b', 2]]);
  assert.equal(table.size, 2);
});

test('deleting while iterating is safe; a set that rebuilds the table under an iterator throws instead of skipping', () => {
  const table = new RecordTable<Rec>();
  for (let i = 0; i < 16; i++) table.set(`r${i}`, { id: `r${i}`, n: i });
  const seen: number[] = [];
  for (const rec of table.values()) {
    seen.push(rec.n);
    if (rec.n % 2 === 0) table.delete(`r${rec.n + 1}`);
  }
  assert.deepEqual(seen, [0, 2, 4, 6, 8, 10, 12, 14]);
  // Deleted entries outnumber live ones by thousands: the next set rebuilds the table.
  for (let i = 0; i < 7_000; i++) table.set(`d${i}`, { id: `d${i}`, n: i });
  for (let i = 0; i < 7_000; i++) table.delete(`d${i}`);
  assert.throws(() => {
    for (const rec of table.values()) table.set(`new${rec.n}`, { id: `new${rec.n}`, n: -1 });
  }, /added while being iterated/);
  // The rebuild kept the order and the records.
  assert.deepEqual([...table.values()].slice(0, 8).map((r) => r.n), [0, 2, 4, 6, 8, 10, 12, 14]);
  assert.equal(table.get('d5'), undefined);
  assert.equal(table.get('r4')?.n, 4);
});

test('a table of many live records is rebuilt once the cleared ones are half as many as the live', () => {
  const table = new RecordTable<Rec>();
  for (let i = 0; i < 20_000; i++) table.set(`m${i}`, { id: `m${i}`, n: i });
  // Whether the next set rebuilds: a set under an open iterator throws exactly then.
  const rebuildsOnSet = (id: string): boolean => {
    try {
      let first = true;
      for (const _ of table.values()) {
        if (!first) break;
        first = false;
        table.set(id, { id, n: -1 }); // the iterator's next step throws if this rebuilt the table
      }
      return false;
    } catch {
      return true;
    }
  };
  for (let i = 0; i < 6_000; i++) table.delete(`m${i}`);
  assert.equal(rebuildsOnSet('x1'), false, '6,000 cleared beside 14,001 live');
  for (let i = 6_000; i < 6_700; i++) table.delete(`m${i}`);
  assert.equal(rebuildsOnSet('x2'), true, '6,700 cleared beside 13,301 live');
  assert.equal(table.size, 13_302);
  assert.equal(table.get('m6700')?.n, 6_700);
  assert.equal(table.get('m6699'), undefined);
});

test('clear empties the table and it fills again', () => {
  const table = new RecordTable<Rec>();
  for (let i = 0; i < 100; i++) table.set(`c${i}`, { id: `c${i}`, n: i });
  table.clear();
  assert.equal(table.size, 0);
  assert.equal(table.get('c5'), undefined);
  table.set('c5', { id: 'c5', n: 5 });
  assert.deepEqual([...table.keys()], ['c5']);
});
