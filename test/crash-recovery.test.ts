// Crash recovery proved by killing a process: SIGKILL at random moments, several rounds, then a
// fresh process on the same prefix must finish every acknowledged payload and workflow instance:
// queued, running, delayed and retried payloads, dependents held on their dependencies, workflow
// steps, and low payloads waiting in the coordinator's ledger.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Workload, kill, startScript, type Worker } from './fault-support.ts';
import { prng, until } from './helpers.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

test('SIGKILL at random moments loses no acknowledged payload; reruns are counted', { timeout: 180_000 }, async (t) => {
  const prefix = freshPrefix('crash');
  const random = prng(7);
  const workload = new Workload(REDIS_URL, prefix);
  try {
    for (let round = 0; round < 3; round++) {
      const run = await workload.load();
      await until(() => workload.ackCount(run) >= 24, 'some acknowledged payloads', 60_000);
      await new Promise((r) => setTimeout(r, 100 + random() * 400)); // a random moment: running, queued, delayed all in flight
      await kill(run);
      workload.collect(run);
    }
    assert.ok(workload.acked.size > 50, `a real workload was acknowledged (${workload.acked.size})`);
    assert.ok(workload.instances.size > 2, `workflow instances were started (${workload.instances.size})`);
    const figures = await workload.finishAndVerify();
    assert.ok(workload.ledger.some((n) => n > 0), `payloads waiting in the ledger were recovered (${workload.ledger.join(', ')})`);
    t.diagnostic(`${JSON.stringify(figures)}; ledger at each recovery: ${workload.ledger.join(', ')}; reruns reported at each recovery: ${workload.reruns.join(', ')}`);
  } finally {
    await workload.dispose();
    await dropPrefix(prefix);
  }
});

const timerWorker = new URL('./fixtures/timer-worker.ts', import.meta.url).pathname;

/**
 * Delayed payloads, payloads with a `runAt` and retries in backoff, acknowledged by a process that
 * then goes (`kill`: SIGKILL; `stop`: a graceful stop), run in a fresh process that submits nothing:
 * the overdue ones right after it is ready, the future ones once due.
 */
async function timersSurvive(how: 'kill' | 'stop'): Promise<void> {
  const prefix = freshPrefix(`timers-${how}`);
  const spawnWorker = (args: string[]) => startScript(timerWorker, args);
  const first = spawnWorker(['submit', prefix, REDIS_URL, how]);
  const second: { current?: Worker } = {};
  try {
    await until(() => first.lines.includes('ACKED'), 'the payloads to be acknowledged', 30_000);
    if (how === 'kill') first.child.kill('SIGKILL');
    await first.exited;
    const due = new Map(first.lines.filter((l) => l.startsWith('DUE ')).map((l) => l.split(' ').slice(1) as [string, string]).map(([id, at]) => [id, Number(at)]));
    assert.equal(due.size, 38);
    // The delayed payloads and the retries (in a 1.5 s backoff) are all overdue by the time the fresh process starts.
    const lastOverdue = Math.min(...due.values()) + 2_000;
    await new Promise((r) => setTimeout(r, Math.max(0, lastOverdue - Date.now())));
    const recovering = (second.current = spawnWorker(['recover', prefix, REDIS_URL]));
    await until(() => recovering.lines.some((l) => l.startsWith('READY ')), 'the fresh process to be ready', 30_000);
    const readyAt = Number(recovering.lines.find((l) => l.startsWith('READY '))?.split(' ')[1]);
    const ran = () => new Map(recovering.lines.filter((l) => l.startsWith('RAN ')).map((l) => l.split(' ').slice(1) as [string, string]).map(([id, at]) => [id, Number(at)]));
    await until(() => [...due.keys()].every((id) => ran().has(id)), 'every acknowledged timer to run', 30_000);
    const runs = ran();
    const overdue = [...due].filter(([, at]) => at <= readyAt);
    const future = [...due].filter(([, at]) => at > readyAt);
    assert.ok(overdue.length === 28 && future.length === 10, `both overdue (${overdue.length}) and future (${future.length}) timers were recovered`);
    const firstFutureDue = Math.min(...future.map(([, at]) => at));
    assert.deepEqual(overdue.filter(([id]) => runs.get(id)! >= firstFutureDue).map(([id]) => id), [], 'overdue timers ran at once, before any future one was due');
    assert.deepEqual(future.filter(([id, at]) => runs.get(id)! < at).map(([id]) => id), [], 'no future timer ran before it was due');
    assert.equal(recovering.lines.filter((l) => l.startsWith('RAN ')).length, due.size, 'each ran once');
  } finally {
    await Promise.all([kill(first), second.current && kill(second.current)]);
    await dropPrefix(prefix);
  }
}

test('delayed payloads and retries in backoff run after a SIGKILL, with no later traffic', { timeout: 90_000 }, () => timersSurvive('kill'));

test('delayed payloads and retries in backoff run after a graceful stop, with no later traffic', { timeout: 90_000 }, () => timersSurvive('stop'));
