/**
 * The mechanics of a tier × handler type queue (actors/partition/mailbox.ts): a FIFO per client,
 * clients served by weighted round robin (deficit round robin over a ring of the clients with live
 * work), an overdue head first, and heads that are always live.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeQueue, type QueuedRecord } from '../actors/partition/mailbox.ts';
import { ClientShares, type FairnessOptions } from '../src/fairness.ts';
import type { PayloadStatus } from '../src/payload.ts';

type Rec = { -readonly [K in keyof QueuedRecord]: QueuedRecord[K] };

/** What `now` the queue is served at: nothing has waited the tier's maxWait unless a test says so. */
const NOW = 0;
const MAX_WAIT = 30_000;

function setup(fairness: FairnessOptions = {}) {
  const records = new Map<string, Rec>();
  const shares = new ClientShares(fairness);
  const queue = new TypeQueue<Rec>('medium', records, shares, MAX_WAIT);
  let seq = 0;
  const add = (id: string, clientId: string, enqueuedAt = seq++): Rec => {
    const record: Rec = { id, clientId, status: 'queued', tier: 'medium', enqueuedAt };
    records.set(id, record);
    queue.push(record);
    return record;
  };
  /** Takes everything out in serving order. */
  const drain = (now = NOW): string[] => {
    const out: string[] = [];
    for (let r = queue.shift(now); r; r = queue.shift(now)) {
      r.status = 'running';
      out.push(r.id);
    }
    return out;
  };
  const leave = (record: Rec, status: PayloadStatus = 'cancelled') => {
    queue.remove(record);
    record.status = status;
  };
  return { queue, records, shares, add, drain, leave };
}

test('clients take turns, each in its own FIFO order; the oldest head is what aging measures', () => {
  const { queue, add, drain } = setup();
  add('a1', 'A');
  add('b1', 'B');
  add('a2', 'A');
  add('c1', 'C');
  add('b2', 'B');
  assert.equal(queue.clientCount, 3);
  assert.equal(queue.peek(NOW)?.id, 'a1');
  assert.equal(queue.oldest?.id, 'a1');
  assert.equal(queue.oldestAt, 0);
  assert.deepEqual(queue.liveIds(), ['a1', 'b1', 'a2', 'c1', 'b2'], 'listed in the order they were queued');
  assert.deepEqual(drain(), ['a1', 'b1', 'c1', 'a2', 'b2']);
  assert.equal(queue.clientCount, 0);
  assert.equal(queue.length, 0);
  assert.equal(queue.peek(NOW), undefined);
  assert.equal(queue.oldestAt, undefined);
});

test('one client flooding does not hold back another: the newcomer is served within a round', () => {
  const { add, drain } = setup();
  for (let i = 0; i < 1_000; i++) add(`a${i}`, 'A');
  add('b0', 'B');
  const order = drain();
  assert.ok(order.indexOf('b0') <= 1, `b0 served ${order.indexOf('b0')}th`);
  assert.deepEqual(order.filter((id) => id.startsWith('a')), Array.from({ length: 1_000 }, (_, i) => `a${i}`), 'A in its own order');
});

test('weights 3:2:1 share the served payloads 3:2:1 while all three wait', () => {
  const { queue, add } = setup({ weights: { a: 3, b: 2 }, defaultWeight: 1 });
  for (let i = 0; i < 600; i++) for (const client of ['a', 'b', 'c']) add(`${client}${i}`, client);
  const served: Record<string, number> = { a: 0, b: 0, c: 0 };
  for (let i = 0; i < 600; i++) {
    const record = queue.shift(NOW) as Rec;
    record.status = 'running';
    served[record.clientId] = (served[record.clientId] ?? 0) + 1;
  }
  assert.deepEqual(served, { a: 300, b: 200, c: 100 });
});

test('fractional weights are quanta over the smallest weight; a weight changed in place holds from the next round', () => {
  const { queue, shares, add, drain } = setup({ weights: { a: 0.5, b: 1.5 } });
  for (let i = 0; i < 4; i++) for (const client of ['a', 'b']) add(`${client}${i}`, client);
  const take = () => {
    const record = queue.shift(NOW) as Rec;
    record.status = 'running';
    return record.id;
  };
  assert.deepEqual([take(), take(), take(), take()], ['a0', 'b0', 'b1', 'b2'], 'a 1 payload a round, b 3');
  shares.set({ weights: { a: 1, b: 1 } });
  assert.deepEqual(drain(), ['a1', 'b3', 'a2', 'a3']);
});

test('an overdue head goes before the round robin: fairness never holds a payload past its maxWait', () => {
  const { queue, add } = setup();
  for (let i = 0; i < 10; i++) add(`a${i}`, 'A', 0);
  add('b0', 'B', 5);
  assert.equal((queue.shift(NOW) as Rec).id, 'a0');
  assert.equal(queue.peek(NOW)?.id, 'b0', 'in turn, B is next');
  // At 30,001 ms only A's heads (queued at 0) are past their deadline: they go first, oldest first.
  assert.equal(queue.peek(MAX_WAIT + 1)?.id, 'a1');
  const late = [1, 2, 3].map(() => {
    const record = queue.shift(MAX_WAIT + 1) as Rec;
    record.status = 'running';
    return record.id;
  });
  assert.deepEqual(late, ['a1', 'a2', 'a3']);
  // At 30,010 b0 (queued at 5) is overdue too, but a4 (at 0) is older.
  assert.equal(queue.peek(MAX_WAIT + 10)?.id, 'a4');
});

test('the ring holds the clients with live work in the order they arrived; rotate walks it; a client leaves it with its last payload', () => {
  const { queue, add } = setup();
  add('a1', 'A');
  add('b1', 'B');
  add('a2', 'A');
  add('c1', 'C');
  assert.equal(queue.current?.clientId, 'A');
  const walk = () => Array.from({ length: 4 }, () => queue.rotate()?.clientId);
  assert.deepEqual(walk(), ['B', 'C', 'A', 'B']);
  // Serving the current client's head is what a round-robin policy does.
  assert.equal(queue.current?.clientId, 'B');
  assert.equal(queue.takeHead(queue.current!)?.id, 'b1');
  assert.equal(queue.clientCount, 2, 'B had nothing else: it left');
  assert.equal(queue.current?.clientId, 'C', 'the ring moved on to the next client');
  assert.deepEqual(walk(), ['A', 'C', 'A', 'C']);
  add('b2', 'B');
  // Walking the ring serves no one: A and C are still fresh, and a returning B joins behind them.
  assert.equal(queue.current?.clientId, 'C');
  assert.deepEqual(walk(), ['B', 'A', 'C', 'B'], 'a returning client joins behind the fresh ones ahead of it');
});

test('fresh clients (nothing queued here before) are served before those already waiting, in the order they came, one payload each', () => {
  const { queue, add } = setup();
  for (let i = 0; i < 5; i++) add(`a${i}`, 'A');
  const take = () => {
    const record = queue.shift(NOW) as Rec;
    record.status = 'running';
    return record.id;
  };
  assert.equal(take(), 'a0');
  assert.equal(queue.freshNext, false, 'A has been served: it is waiting, not fresh');
  add('b0', 'B');
  add('b1', 'B');
  add('c0', 'C');
  assert.equal(queue.freshNext, true, 'the next one served is a fresh client\'s');
  assert.deepEqual([take(), take()], ['b0', 'c0'], 'B then C, before A again');
  assert.equal(queue.freshNext, false);
  assert.deepEqual([take(), take(), take()], ['a1', 'b1', 'a2'], 'then the round robin as before');
});

test('an unparked client is not fresh: it waits for its turn in the round', () => {
  const { queue, add } = setup();
  for (let i = 0; i < 3; i++) add(`a${i}`, 'A');
  add('b0', 'B');
  assert.ok(queue.park('B'));
  (queue.shift(NOW) as Rec).status = 'running';
  queue.unpark('B');
  assert.equal(queue.freshNext, false);
  assert.equal(queue.peek(NOW)?.id, 'a1', 'A\'s turn goes on');
});

test('each client keeps its own FIFO and a deficit counter a round-robin policy can spend', () => {
  const { queue, add } = setup();
  add('a1', 'A');
  add('a2', 'A');
  add('b1', 'B');
  const a = queue.clientFifo('A')!;
  assert.equal(a.live, 2);
  a.deficit = 3;
  assert.equal(queue.takeHead(a)?.id, 'a1');
  assert.equal(queue.takeHead(a)?.id, 'a2');
  assert.equal(queue.takeHead(a), undefined);
  assert.equal(a.deficit, 0, 'a client that empties starts its next round afresh');
  assert.equal(queue.clientFifo('A'), undefined);
  assert.equal(queue.peek(NOW)?.id, 'b1');
});

test('a payload leaving out of order is a tombstone, skipped; heads stay live; a client of only tombstones is gone', () => {
  const { queue, add, leave, drain } = setup();
  const a1 = add('a1', 'A');
  const a2 = add('a2', 'A');
  add('a3', 'A');
  const b1 = add('b1', 'B');
  leave(a2);
  assert.equal(queue.length, 4, 'a2 stays as a tombstone');
  assert.equal(queue.clientFifo('A')?.live, 2);
  leave(a1);
  assert.equal(queue.length, 2, 'the head left, and the tombstone behind it with it');
  assert.equal(queue.peek(NOW)?.id, 'a3', 'A\'s new head (queued before B\'s) is live');
  leave(b1, 'moved');
  assert.equal(queue.clientFifo('B'), undefined);
  assert.equal(queue.clientCount, 1);
  assert.deepEqual(drain(), ['a3']);
});

test('ids of a record that left its tier (rerouted) are not served from the old one', () => {
  const { queue, add, drain } = setup();
  add('a1', 'A');
  const a2 = add('a2', 'A');
  add('a3', 'A');
  a2.tier = 'high'; // changed tier without going through remove: the id is dead here
  queue.remove(a2);
  assert.deepEqual(drain(), ['a1', 'a3']);
});

test('takeClient takes one client out whole, in its order, and the others are served as before', () => {
  const { queue, add, drain, leave } = setup();
  add('a1', 'a');
  add('b1', 'b');
  const a2 = add('a2', 'a');
  add('b2', 'b');
  add('a3', 'a');
  leave(a2);
  assert.deepEqual(queue.takeClient('a').map((r) => r.id), ['a1', 'a3'], 'live records only, tombstones dropped');
  assert.equal(queue.clientCount, 1);
  assert.deepEqual(queue.takeClient('nobody'), []);
  assert.deepEqual(drain(), ['b1', 'b2']);
  assert.equal(queue.length, 0, 'nothing of a is left behind');
});

test('walk visits live records in serving order, within its limit, until told to stop', () => {
  const { queue, add, leave } = setup();
  add('a1', 'a');
  add('b1', 'b');
  const c1 = add('c1', 'c');
  add('a2', 'a');
  add('b2', 'b');
  leave(c1);
  const seen = (limit: number, stopAfter = Infinity): string[] => {
    const ids: string[] = [];
    queue.walk(limit, (r) => (ids.push(r.id), ids.length < stopAfter));
    return ids;
  };
  assert.deepEqual(seen(10), ['a1', 'b1', 'a2', 'b2'], 'the order of one FIFO across clients');
  assert.deepEqual(seen(10, 2), ['a1', 'b1']);
  assert.deepEqual(seen(3), ['a1', 'b1', 'a2'], 'the limit counts ids looked at');
  // Beyond eight clients the walk goes client by client: every live record is still visited once.
  for (let c = 0; c < 12; c++) add(`x${c}`, `client-${c}`);
  const all = seen(100);
  assert.equal(all.length, 16);
  assert.equal(new Set(all).size, 16);
});

test('walk from a place in the order of pushes: what was pushed before it is passed over, one client or several', () => {
  const { queue, add, drain } = setup();
  for (let i = 0; i < 5; i++) add(`a${i}`, 'a');
  const seen = (from: number): Array<[string, number]> => {
    const visited: Array<[string, number]> = [];
    queue.walk(10, (r, order) => (visited.push([r.id, order]), true), from);
    return visited;
  };
  assert.deepEqual(seen(3), [['a3', 3], ['a4', 4]], 'one client: from its fourth push');
  add('b5', 'b');
  add('a6', 'a');
  assert.deepEqual(seen(4), [['a4', 4], ['b5', 5], ['a6', 6]], 'several clients: merged, from the fifth push');
  assert.deepEqual(seen(0).map(([id]) => id), ['a0', 'a1', 'a2', 'a3', 'a4', 'b5', 'a6']);
  drain();
  assert.deepEqual(seen(3), [], 'nothing left');
});

test('a parked client is neither served nor offered, keeps its FIFO and what arrives meanwhile, and is served again once unparked', () => {
  const { queue, add, drain, leave } = setup();
  add('a1', 'A');
  add('b1', 'B');
  add('a2', 'A');
  add('b2', 'B');
  assert.ok(queue.park('A'));
  assert.equal(queue.park('A'), undefined, 'parked once');
  assert.equal(queue.park('nobody'), undefined);
  add('a3', 'A');
  assert.equal(queue.parked, 3, 'its live payloads, the new one too');
  assert.equal(queue.clientCount, 1);
  assert.equal(queue.oldest?.id, 'b1', 'a parked head is not what waits for a slot');
  assert.deepEqual(queue.liveIds(), ['a1', 'b1', 'a2', 'b2', 'a3'], 'a snapshot still holds every queued payload');
  assert.deepEqual(drain(), ['b1', 'b2']);
  assert.equal(queue.peek(NOW), undefined, 'nothing to serve while A is parked');
  queue.unpark('A');
  assert.equal(queue.parked, 0);
  assert.deepEqual(drain(), ['a1', 'a2', 'a3'], 'FIFO kept through the park');
  assert.equal(queue.length, 0);

  // A parked head that leaves (cancelled) offers the next one again: what held the old head may not hold it.
  const c1 = add('c1', 'C');
  add('c2', 'C');
  queue.park('C');
  leave(c1);
  assert.equal(queue.parked, 0);
  assert.deepEqual(drain(), ['c2']);
  // A parked client whose last payload leaves is forgotten whole.
  const d1 = add('d1', 'D');
  queue.park('D');
  leave(d1);
  assert.deepEqual([queue.parked, queue.length, queue.clientFifo('D')], [0, 0, undefined]);
});

test('a client FIFO emptied and taken up by the next client to arrive carries nothing of the last one over', () => {
  const { queue, add, drain, leave } = setup({ weights: { A: 3 } });
  // A's FIFO grows, is drained empty (with a tombstone in it once), and is retired.
  for (let i = 0; i < 40; i++) add(`a${i}`, 'A');
  leave(add('ax', 'A'));
  assert.equal(drain().length, 40);
  assert.equal(queue.clientCount, 0);
  // B arrives first and takes the retired FIFO; A comes back with a new one.
  add('b1', 'B');
  add('a41', 'A');
  add('b2', 'B');
  add('a42', 'A');
  assert.equal(queue.clientCount, 2);
  assert.equal(queue.length, 4);
  assert.deepEqual(queue.clientFifo('B')?.live, 2);
  assert.deepEqual(queue.liveIds(), ['b1', 'a41', 'b2', 'a42']);
  // A's weight of 3 is A's alone: B, weight 1, gets one turn per round and nothing A had.
  assert.deepEqual(drain(), ['b1', 'a41', 'a42', 'b2']);
  assert.equal(queue.clientFifo('B'), undefined);
});

test('a client FIFO that held a backlog is not kept for the next client once emptied', () => {
  const { queue, add, drain } = setup();
  // Retired after holding 5,000 ids: the next client gets a FIFO of its own, not its grown buffers.
  for (let i = 0; i < 5_000; i++) add(`big${i}`, 'A');
  assert.equal(drain().length, 5_000);
  add('b1', 'B');
  const bFifo = queue.clientFifo('B');
  assert.equal(bFifo?.peak, 1, 'a new FIFO, not the one that held 5,000');
  drain();
  // Retired after holding one id: the next client takes it up.
  add('c1', 'C');
  assert.equal(queue.clientFifo('C'), bFifo, "C took up B's emptied FIFO");
  assert.deepEqual(drain(), ['c1']);
});
