import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NonRetryableError, QueueFullError, SimulatedClock, createRuntime, silentLogger,
  type PayloadEvent, type PayloadInput, type Tier,
} from '../src/index.ts';
import { partitionSummaries, prng, totals } from './helpers.ts';

type Kind = 'ok' | 'sync' | 'flaky' | 'fatal' | 'hang' | 'slow' | 'string';
interface Work {
  readonly kind: Kind;
  readonly ms: number;
  readonly failures: number;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled', 'skipped', 'expired']);
/** A `skipped` with a ledger id is a skip under load: the payload waits in the ledger, it has not ended. */
const ends = (e: PayloadEvent): boolean => TERMINAL.has(e.type) && !(e.type === 'skipped' && e.ledgerId !== undefined);
const KINDS: Kind[] = ['ok', 'ok', 'ok', 'sync', 'flaky', 'flaky', 'fatal', 'hang', 'slow', 'string'];
const PRIORITIES: Array<number | Tier> = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'low', 'medium', 'high', 'critical'];

test('seeded random mix: every accepted payload ends in exactly one terminal state, totals add up', async () => {
  const rnd = prng(0x7a1a6e);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)] as T;
  const clock = new SimulatedClock();
  const rt = createRuntime({
    clock,
    logger: silentLogger,
    random: prng(99),
    partitions: 8,
    concurrency: 6,
    overflow: 'drop-lowest',
    tierCapacity: { critical: 6, high: 6, medium: 6, low: 6 },
    maxWait: { critical: 200, high: 400, medium: 800, low: 1600 },
    retainTerminal: 1_000_000,
    handlerDefaults: { timeout: 150, retries: 2, backoff: { initialMs: 20, factor: 2, maxMs: 200, jitter: 0.5 } },
  });

  const attempts = new Map<string, number>();
  let limitedRunning = 0;
  let limitedPeak = 0;
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimer(ms, resolve));
  const run = async (work: Work, ctx: { id: string; attempt: number; progress(v: unknown): void }) => {
    attempts.set(ctx.id, ctx.attempt);
    switch (work.kind) {
      case 'sync':
        return 'sync';
      case 'fatal':
        throw new NonRetryableError('fatal');
      case 'string':
        await sleep(work.ms);
        throw 'a string';
      case 'hang':
        return new Promise(() => {});
      case 'slow':
        await sleep(400); // past the 150 ms timeout: the late result must be ignored
        return 'late';
      case 'flaky':
        await sleep(work.ms);
        if (ctx.attempt <= work.failures) throw new Error(`flaky ${ctx.attempt}`);
        return 'recovered';
      default:
        ctx.progress({ half: true });
        await sleep(work.ms);
        ctx.progress({ half: false });
        return work.ms;
    }
  };
  rt.handle('work', (data: Work, ctx) => run(data, ctx));
  rt.handle('limited', async (data: Work, ctx) => {
    // A slot is held until the attempt settles or is aborted (timeout, cancel), whichever is first.
    let holding = true;
    const done = () => void (holding && ((holding = false), limitedRunning--));
    limitedRunning++;
    limitedPeak = Math.max(limitedPeak, limitedRunning);
    ctx.signal.addEventListener('abort', done);
    try {
      return await run(data, ctx);
    } finally {
      done();
    }
  }, { concurrency: 2 });

  const events: PayloadEvent[] = [];
  rt.events.on('*', (e) => events.push(e));

  const submitted = new Set<string>();
  const runAtOf = new Map<string, number>();
  let rejected = 0;
  let submits = 0;
  let answered = 0;
  const inflight = new Set<Promise<unknown>>();
  const follow = <T>(p: Promise<T>) => {
    inflight.add(p);
    p.finally(() => inflight.delete(p)).catch(() => {});
  };
  const makeInput = (): PayloadInput => {
    const delayed = rnd() < 0.2;
    const input: PayloadInput = {
      type: rnd() < 0.15 ? 'limited' : 'work',
      data: { kind: pick(KINDS), ms: Math.floor(rnd() * 80), failures: Math.floor(rnd() * 4) } satisfies Work,
      priority: pick(PRIORITIES),
      complexity: 1 + Math.floor(rnd() * 10),
      clientId: `client-${Math.floor(rnd() * 5)}`,
      ...(delayed && { delay: Math.floor(rnd() * 500) }),
      ...(rnd() < 0.05 && { idempotencyKey: `key-${Math.floor(rnd() * 40)}` }),
    };
    return input;
  };
  const noteAccepted = (id: string, input: PayloadInput) => {
    answered++;
    if (submitted.has(id)) return; // an idempotent duplicate: the first payload's id
    submitted.add(id);
    if (input.delay !== undefined) runAtOf.set(id, clock.now() + input.delay);
  };

  for (let step = 0; step < 400; step++) {
    const n = Math.floor(rnd() * 13);
    if (rnd() < 0.5) {
      for (let i = 0; i < n; i++) {
        const input = makeInput();
        submits++;
        follow(rt.submit(input).then((id) => noteAccepted(id, input), (e: unknown) => {
          assert.ok(e instanceof QueueFullError, String(e));
          rejected++;
        }));
      }
    } else if (n > 0) {
      const inputs = Array.from({ length: n }, makeInput);
      submits += n;
      follow(rt.submitMany(inputs).then(
        (ids) => ids.forEach((id, i) => noteAccepted(id, inputs[i] as PayloadInput)),
        (e: unknown) => {
          assert.ok(e instanceof QueueFullError, String(e));
          const accepted = (e as QueueFullError & { accepted: string[] }).accepted;
          rejected += n - accepted.length;
          answered += accepted.length;
          for (const id of accepted) submitted.add(id);
        },
      ));
    }
    if (submitted.size > 0 && rnd() < 0.6) {
      const ids = [...submitted];
      for (let i = 0; i < 1 + Math.floor(rnd() * 3); i++) follow(rt.cancel(pick(ids)));
    }
    clock.advance(Math.floor(rnd() * 40));
    await rt.idle();
  }

  // Let everything settle: no new work, the clock moves on until nothing is left anywhere.
  // The coordinator is on (the default): payloads skipped under load must have left its ledger too.
  const quiet = () => (rt.coordinator?.ledger(0).total ?? 0) === 0 && partitionSummaries(rt).every((s) =>
    s.running === 0 && s.delayed === 0 && s.parked === 0 && Object.values(s.depth).every((d) => d === 0));
  // Small steps: a handler's own timer and its timeout must not fall due in the same advance, or
  // the timeout fires before the handler's continuation (a microtask) has run.
  for (let i = 0; i < 4000 && !(quiet() && inflight.size === 0); i++) {
    clock.advance(25);
    await rt.idle();
    await Promise.all([...inflight]);
  }
  assert.ok(quiet(), 'everything settled');

  const byId = new Map<string, PayloadEvent[]>();
  for (const e of events) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  const acceptedIds = new Set(events.filter((e) => e.type === 'accepted').map((e) => e.id));
  const count = (type: string) => events.filter((e) => e.type === type && (type !== 'skipped' || ends(e))).length;

  // Nothing accepted is lost, nothing unaccepted appears; each accepted exactly once.
  assert.deepEqual([...acceptedIds].sort(), [...submitted].sort());
  assert.equal(count('accepted'), acceptedIds.size);
  assert.equal(answered + rejected, submits, 'every submit was answered: an id or QUEUE_FULL');
  assert.ok(answered > acceptedIds.size, 'some idempotent duplicates were answered with the first id');

  const cancelledWhile = { queued: 0, delayed: 0, running: 0 };
  const finalStatus = new Map<string, string>();
  for (const [id, list] of byId) {
    assert.ok(acceptedIds.has(id), `events for ${id} without an accepted event`);
    const terminal = list.filter(ends);
    assert.equal(terminal.length, 1, `${id}: ${list.map((e) => e.type).join(',')}`);
    const end = terminal[0] as PayloadEvent;
    assert.equal(list.at(-1), end, `${id}: nothing after its terminal event`);
    finalStatus.set(id, end.type);
    const starts = list.filter((e) => e.type === 'started').length;
    const retries = list.filter((e) => e.type === 'retrying').length;
    const endedRunning = end.type === 'completed' || end.type === 'failed';
    if (endedRunning) assert.equal(starts, retries + 1, `${id}: starts vs retries`);
    else assert.ok(starts === retries || starts === retries + 1, `${id}: starts vs retries`);
    if (end.type === 'cancelled') {
      const before = list.at(-2) as PayloadEvent;
      if (before.type === 'started' || before.type === 'progress') cancelledWhile.running++;
      else if (before.type === 'retrying' || end.at < (runAtOf.get(id) ?? -Infinity)) cancelledWhile.delayed++;
      else cancelledWhile.queued++;
    }
  }

  const views = await Promise.all([...acceptedIds].map((id) => rt.get(id)));
  for (const view of views) {
    assert.ok(view, 'every accepted payload is still known');
    assert.equal(view.status, finalStatus.get(view.id), `get(${view.id}).status agrees with its terminal event`);
    if (view.status === 'completed' && view.type === 'work') assert.notEqual(view.result, 'late', 'a timed-out result never lands');
  }

  const t = totals(rt);
  assert.equal(t.accepted, acceptedIds.size);
  assert.equal(t.accepted, t.completed + t.failed + t.cancelled + t.skipped);
  for (const type of ['completed', 'failed', 'cancelled', 'skipped', 'started'] as const) assert.equal(t[type], count(type), type);
  assert.equal(t.retried, count('retrying'));
  assert.equal(rt.stats().pool.busy, 0, 'no slot leaked');
  assert.equal(rt.stats().pool.running, 0);
  assert.equal(limitedPeak, 2, 'per-type limit reached and held');

  // The mix really exercised every path.
  assert.ok(acceptedIds.size >= 1500, `accepted ${acceptedIds.size}`);
  for (const type of ['completed', 'failed', 'cancelled', 'skipped', 'retrying', 'progress'] as const) assert.ok(count(type) > 0, `some ${type}`);
  assert.ok(rejected > 0, 'some submits overflowed with nothing lower to evict');
  assert.ok(events.some((e) => e.error?.code === 'TIMEOUT'), 'some timeouts');
  assert.ok(cancelledWhile.queued > 0 && cancelledWhile.delayed > 0 && cancelledWhile.running > 0, JSON.stringify(cancelledWhile));
  await rt.stop();
});
