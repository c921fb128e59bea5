// Partition leases and the coordinator election on a real Redis: one holder at a time, renewals,
// takeover after expiry with a higher fencing token, release, and a holder that stops renewing (a
// paused process) giving its lease up on its own local deadline.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoordinatorElection } from '../src/cluster/election.ts';
import { homeKeys } from '../src/cluster/keys.ts';
import { LeaseTable, Leases, partitionLeases, type LeaseLoss } from '../src/cluster/leases.ts';
import { OptionsError } from '../src/errors.ts';
import { manualClock, until, withCluster } from './cluster-support.ts';

type Loss = [partition: number, token: number, reason: LeaseLoss];

test('scripts: one holder at a time, tokens only grow, renew and release only by the holder', withCluster('scripts', async ({ keys, redis }) => {
  const leases = partitionLeases(redis, keys);
  const t1 = await leases.acquire(5, 'node-a', 5_000);
  assert.ok(t1 >= 1);
  assert.equal(await leases.acquire(5, 'node-b', 5_000), 0, 'held by another node');
  const holder = await leases.holder(5);
  assert.equal(holder?.node, 'node-a');
  assert.equal(holder?.token, t1);
  assert.ok(holder!.ttlMs > 4_000 && holder!.ttlMs <= 5_000);
  // Re-acquiring one's own lease draws a new token, fencing out any earlier incarnation.
  const t2 = await leases.acquire(5, 'node-a', 5_000);
  assert.ok(t2 > t1);
  assert.equal(await leases.renew(5, 'node-a', t1, 5_000), false, 'stale token');
  assert.equal(await leases.renew(5, 'node-b', t2, 5_000), false, 'other node');
  assert.equal(await leases.renew(5, 'node-a', t2, 9_000), true);
  assert.ok((await leases.holder(5))!.ttlMs > 8_000);
  assert.equal(await leases.release(5, 'node-b', t2), false);
  assert.equal(await leases.release(5, 'node-a', t1), false);
  assert.equal((await leases.holder(5))?.node, 'node-a', 'a refused release deletes nothing');
  assert.equal(await leases.release(5, 'node-a', t2), true);
  assert.equal(await leases.holder(5), undefined);
  // The counter survives the release: the next holder's token is higher still.
  assert.ok((await leases.acquire(5, 'node-b', 5_000)) > t2);
  // Which leases are held, in one read: 5 is (node-b's), 6 never was, 7 was released.
  const t7 = await leases.acquire(7, 'node-a', 5_000);
  assert.equal(await leases.release(7, 'node-a', t7), true);
  assert.deepEqual(await leases.held([5, 6, 7]), [true, false, false]);
  assert.deepEqual(await leases.held([]), []);
  // Keys of one partition share a hash tag with its journal.
  for (const key of [keys.partitionLease(5).lease, keys.partitionLease(5).fence, keys.inbox(5), keys.journal(5), keys.snapshot(5)]) {
    assert.match(key, /\{partition-5\}$/);
  }
  // So do a home's lease, fencing counter, and its graph's and workflows' journals and snapshots.
  const homeStored = homeKeys('node-a.1').flatMap((key) => [keys.persistence.journal(key), keys.persistence.snapshot(key)]);
  for (const key of [keys.homeLease('node-a.1').lease, keys.homeLease('node-a.1').fence, ...homeStored]) {
    assert.equal(/\{([^}]*)\}/.exec(key)?.[1], 'home-node-a.1', `the hash tag of ${key}`);
  }
}));

test('two tables: exclusive acquire, renewals keep the lease past its ttl, release hands it over', withCluster('tables', async ({ keys, redis, open }) => {
  const lostA: Loss[] = [];
  const a = new LeaseTable({ leases: partitionLeases(redis, keys), nodeId: 'node-a', ttlMs: 300, renewMs: 60, onLost: (...l) => lostA.push(l) });
  const b = new LeaseTable({ leases: partitionLeases(open(), keys), nodeId: 'node-b', ttlMs: 300, renewMs: 60 });
  const [ta0, tb0] = await Promise.all([a.acquire(0), b.acquire(0)]);
  assert.equal([ta0, tb0].filter((t) => t !== undefined).length, 1, 'exactly one table gets partition 0');
  const [winner, loser] = ta0 !== undefined ? [a, b] : [b, a];
  const token = (ta0 ?? tb0)!;
  assert.equal(await winner.acquire(0), token, 'acquiring a held lease keeps its token');
  assert.ok((await loser.acquire(1)) !== undefined, 'other partitions are free');

  winner.start();
  loser.start();
  await new Promise((r) => setTimeout(r, 700)); // more than twice the ttl: only renewals keep it
  assert.equal(winner.token(0), token);
  assert.equal((await partitionLeases(redis, keys).holder(0))?.token, token);
  assert.equal(await loser.acquire(0), undefined);
  assert.deepEqual(lostA, []);

  assert.equal(await winner.release(0), true);
  assert.equal(winner.token(0), undefined);
  const next = await loser.acquire(0);
  assert.ok(next !== undefined && next > token);
  assert.deepEqual(lostA, [], 'a release is not a loss');
  await Promise.all([a.stop(), b.stop()]);
  await Promise.all([a.releaseAll(), b.releaseAll()]);
  assert.equal(await partitionLeases(redis, keys).holder(1), undefined);
}));

test('expiry then takeover: the new holder has a higher token and the old one is refused on renew', withCluster('takeover', async ({ keys, redis, open }) => {
  const lostA: Loss[] = [];
  // a's clock stands still, as in a process that does not notice time passing; only Redis can tell it.
  const clock = manualClock();
  const a = new LeaseTable({ leases: partitionLeases(redis, keys), nodeId: 'node-a', ttlMs: 150, renewMs: 50, now: clock.now, onLost: (...l) => lostA.push(l) });
  const b = new LeaseTable({ leases: partitionLeases(open(), keys), nodeId: 'node-b', ttlMs: 150, renewMs: 50 });
  const old = (await a.acquire(7))!;
  await until(async () => (await partitionLeases(redis, keys).holder(7)) === undefined, 'the lease to expire in Redis', 2_000);
  const fresh = await b.acquire(7);
  assert.ok(fresh !== undefined && fresh > old, `takeover token ${fresh} must exceed ${old}`);
  assert.equal(a.token(7), old, 'a has not noticed yet');
  await a.renewAll();
  assert.deepEqual(lostA, [[7, old, 'refused']]);
  assert.equal(a.token(7), undefined);
  assert.equal((await partitionLeases(redis, keys).holder(7))?.node, 'node-b', 'a refused renew changes nothing');
  await b.releaseAll();
}));

test('a holder that cannot renew gives the lease up at its local deadline, before Redis expires it', withCluster('deadline', async ({ keys, redis }) => {
  const lost: Loss[] = [];
  const clock = manualClock();
  const table = new LeaseTable({ leases: partitionLeases(redis, keys), nodeId: 'node-a', ttlMs: 10_000, renewMs: 1_000, driftMs: 100, now: clock.now, onLost: (...l) => lost.push(l) });
  const token = (await table.acquire(2))!;
  assert.equal(table.deadlineOf(2), 1_000 + 10_000 - 100);
  clock.advance(9_900); // exactly at the deadline: still ours
  assert.equal(table.token(2), token);
  clock.advance(1); // the renew loop was stopped (a pause): past the deadline
  assert.deepEqual(table.check(), [2]);
  assert.deepEqual(lost, [[2, token, 'expired']]);
  assert.equal(table.token(2), undefined);
  assert.equal((await partitionLeases(redis, keys).holder(2))?.node, 'node-a', 'Redis still has it: the node gave up first');
  // token() itself notices, so a write guarded by it never goes out after the deadline.
  const again = (await table.acquire(3))!;
  clock.advance(20_000);
  assert.equal(table.token(3), undefined);
  assert.deepEqual(lost.at(-1), [3, again, 'expired']);
}));

test('the deadline runs from when a renewal was sent, so a slow reply cannot stretch it', withCluster('slow-renew', async ({ keys, redis }) => {
  const lost: Loss[] = [];
  const clock = manualClock();
  const inner = partitionLeases(redis, keys);
  // A renewal whose reply takes almost a whole ttl to come back (a paused process, a stalled network).
  const slow = new (class extends Leases<number> {
    override async renewMany(items: readonly { name: number; token: number }[], nodeId: string, ttlMs: number) {
      const results = await inner.renewMany(items, nodeId, ttlMs);
      clock.advance(950);
      return results;
    }
  })(redis, keys.partitionLease);
  const table = new LeaseTable({ leases: slow, nodeId: 'node-a', ttlMs: 1_000, renewMs: 100, driftMs: 60, now: clock.now, onLost: (...l) => lost.push(l) });
  const token = (await table.acquire(4))!;
  clock.advance(500);
  await table.renewAll(); // sent at 1500, answered at 2450; deadline 1500 + 1000 - 60 = 2440
  assert.equal(table.token(4), undefined);
  assert.deepEqual(lost, [[4, token, 'expired']]);
  assert.equal((await inner.holder(4))?.token, token, 'Redis did renew it');
}));

test('the renew loop reports a lease lost once Redis refuses it', withCluster('loop-loss', async ({ keys, redis, open }) => {
  const lost: Loss[] = [];
  const a = new LeaseTable({ leases: partitionLeases(redis, keys), nodeId: 'node-a', ttlMs: 2_000, renewMs: 30, onLost: (...l) => lost.push(l) });
  const token = (await a.acquire(9))!;
  a.start();
  // An operator (or a bug) hands the lease over behind a's back.
  await open().del(keys.partitionLease(9).lease);
  const other = await partitionLeases(redis, keys).acquire(9, 'node-b', 2_000);
  await until(() => lost.length > 0, 'the loss to be reported');
  assert.deepEqual(lost, [[9, token, 'refused']]);
  assert.ok(other > token);
  await a.stop();
}));

test('options are checked', withCluster('options', async ({ keys, redis }) => {
  const leases = partitionLeases(redis, keys);
  assert.throws(() => new LeaseTable({ leases, nodeId: 'n', ttlMs: 100, renewMs: 100 }), OptionsError);
  assert.throws(() => new LeaseTable({ leases, nodeId: 'n', ttlMs: 100, renewMs: 0 }), OptionsError);
}));

test('coordinator election: one leader; on resign another takes over with a higher token', withCluster('election', async ({ keys, redis, open }) => {
  const events: string[] = [];
  const nodes = ['node-a', 'node-b', 'node-c'].map((nodeId) => {
    const e = new CoordinatorElection({ client: nodeId === 'node-a' ? redis : open(), keys, nodeId, ttlMs: 300, roundMs: 40 });
    e.on('elected', (token) => events.push(`${nodeId} elected ${token}`));
    e.on('deposed', (token, reason) => events.push(`${nodeId} deposed ${token} ${reason}`));
    e.start();
    return e;
  });
  await until(() => nodes.some((n) => n.isLeader()), 'a leader');
  await new Promise((r) => setTimeout(r, 400)); // past a ttl: still exactly one, the same one
  const leaders = nodes.filter((n) => n.isLeader());
  assert.equal(leaders.length, 1);
  const first = leaders[0]!;
  const firstToken = first.token()!;
  assert.equal((await first.leader())?.token, firstToken);
  assert.equal(events.length, 1);

  await first.resign();
  assert.equal(first.isLeader(), false);
  await until(() => nodes.some((n) => n !== first && n.isLeader()), 'a new leader');
  const second = nodes.find((n) => n.isLeader())!;
  assert.ok(second.token()! > firstToken);
  assert.equal((await second.leader())?.token, second.token());

  // A leader that stops renewing (paused) steps down on its own deadline and another takes over.
  await second.stop();
  const stoppedAt = Date.now();
  // Asking is what a resumed process does before acting: past its deadline the answer is no.
  await until(() => !second.isLeader(), 'the paused leader to step down', 2_000);
  assert.ok(Date.now() - stoppedAt >= 150, 'stepped down before its ttl could have run out');
  assert.ok(events.some((e) => e.endsWith('expired')), events.join('; '));
  await until(() => nodes.some((n) => n !== second && n !== first && n.isLeader()), 'a third leader', 2_000);
  const third = nodes.find((n) => n.isLeader())!;
  assert.ok(third.token()! > firstToken);
  await Promise.all(nodes.map((n) => n.resign()));
}));
