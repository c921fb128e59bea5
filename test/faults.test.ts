// The reliability suite (`npm run test:faults`, also part of `npm test`): a mixed workload —
// delayed payloads, retries, dependents, workflow steps, low work skipped into the ledger — in a
// child process against a redis-server of the test's own, through SIGKILL rounds of the process and
// through Redis stopped, killed, restarted and paused mid-run. Each asserts that a fresh process ends
// every acknowledged payload and instance, and that nothing ran twice beyond the reruns reported.
// `TRIAGE_FAULT_ROUNDS=<n>` runs more SIGKILL rounds (default 4).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Workload, kill } from './fault-support.ts';
import { prng, until } from './helpers.ts';
import { OwnRedis } from './own-redis.ts';

const ROUNDS = Number(process.env.TRIAGE_FAULT_ROUNDS ?? 4);

test(`SIGKILL of the process at random moments, ${ROUNDS} rounds: nothing acknowledged is lost`, { timeout: 60_000 + ROUNDS * 30_000 }, async (t) => {
  const redis = await OwnRedis.onSparePort();
  await redis.start();
  const workload = new Workload(redis.url, 'faults-kill');
  const started = Date.now();
  try {
    const random = prng(2024);
    for (let round = 0; round < ROUNDS; round++) {
      const run = await workload.load();
      const from = workload.ackCount(run);
      await until(() => workload.ackCount(run) >= from + 24, 'some acknowledged payloads', 60_000);
      await new Promise((r) => setTimeout(r, 50 + random() * 500)); // running, queued, delayed, retrying all in flight
      await kill(run);
      workload.collect(run);
    }
    const figures = await workload.finishAndVerify();
    assert.ok(figures.acked > 24 * ROUNDS && figures.instances >= ROUNDS, `a real workload was acknowledged (${figures.acked} payloads, ${figures.instances} instances)`);
    t.diagnostic(`sigkill ${JSON.stringify({ rounds: ROUNDS, ...figures, ledgerAtEachStart: workload.ledger, seconds: Math.round((Date.now() - started) / 1000) })}`);
  } finally {
    await workload.dispose();
    await redis.dispose();
  }
});

test('Redis stopped, killed, restarted and paused mid-run: refused while away, resumed by itself, nothing acknowledged lost', { timeout: 180_000 }, async (t) => {
  const redis = await OwnRedis.onSparePort();
  await redis.start();
  // Commands bounded at 500 ms, so a paused server shows as one that is away.
  const workload = new Workload(redis.url, 'faults-redis', { COMMAND_TIMEOUT_MS: '500' });
  const started = Date.now();
  try {
    const run = await workload.load();
    const refusals = () => run.lines.filter((l) => l.startsWith('REFUSED ')).length;
    const acksGrow = async (what: string) => {
      const from = workload.ackCount(run);
      await until(() => workload.ackCount(run) >= from + 24, what, 60_000);
    };
    const refusedOnce = async (what: string) => {
      const from = refusals();
      await until(() => refusals() > from, what, 30_000);
    };
    await acksGrow('the workload to run');

    await redis.stop(); // SIGTERM: a clean shutdown
    await refusedOnce('submits to be refused while Redis is stopped');
    await redis.start();
    await acksGrow('the workload to resume after a restart');

    process.kill(redis.pid!, 'SIGKILL'); // a crash: what was acknowledged is in the append-only file
    await refusedOnce('submits to be refused while Redis is down');
    await redis.start();
    await acksGrow('the workload to resume after a crash');

    redis.pause(); // SIGSTOP: the connection stays, nothing answers
    await refusedOnce('submits to be refused while Redis is paused');
    redis.resume();
    await acksGrow('the workload to resume after the pause');

    assert.equal(run.child.exitCode, null, 'the process rode out every outage');
    await kill(run);
    workload.collect(run);
    assert.deepEqual([...workload.refused.keys()], ['STORE_UNAVAILABLE'], 'every refusal said why');
    const figures = await workload.finishAndVerify();
    t.diagnostic(`redis ${JSON.stringify({ ...figures, refused: Object.fromEntries(workload.refused), seconds: Math.round((Date.now() - started) / 1000) })}`);
  } finally {
    redis.resume();
    await workload.dispose();
    await redis.dispose();
  }
});
