/**
 * Rate limits and concurrency keys, end to end on a simulated clock: starts per second and most
 * running, globally, per handler type, per client and per payload `concurrencyKey`; what a limit
 * holds waits queued (never failed) and is shown by the scope that holds it; limits change at run
 * time without a restart.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import type { HandlerContext, Runtime } from '../src/index.ts';
import { createRuntime, OptionsError, silentLogger } from '../src/index.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';
import type { SimulatedClock } from '../src/clock.ts';
import { advanceUntil, coordinated, sleepOn } from './coordinator-support.ts';
import { samples, sampleValue, serve } from './admin-support.ts';
import { deferred, until } from './helpers.ts';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.stop();
  rt = undefined;
});

/** Runs the simulated clock `ms` ms forward, 1 ms at a time, letting the runtime settle each step. */
async function runFor(runtime: Runtime, clock: SimulatedClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t++) {
    clock.advance(1);
    await runtime.idle();
  }
}

/** Counts running attempts per key and the most seen at once. */
function concurrencyMeter(keyOf: (ctx: HandlerContext, data: { key?: string }) => string) {
  const running = new Map<string, number>();
  const most = new Map<string, number>();
  return {
    enter(ctx: HandlerContext, data: { key?: string }) {
      const key = keyOf(ctx, data);
      const now = (running.get(key) ?? 0) + 1;
      running.set(key, now);
      most.set(key, Math.max(most.get(key) ?? 0, now));
      return () => running.set(key, (running.get(key) ?? 1) - 1);
    },
    most,
  };
}

test('a concurrency key runs one payload at a time across clients and partitions; other keys are not held back', async () => {
  const built = coordinated({ partitions: 4, concurrency: 8, limits: { keys: { default: { maxRunning: 1 } } } });
  rt = built.rt;
  const { clock } = built;
  const sleep = sleepOn(clock);
  const meter = concurrencyMeter((_, data) => data.key ?? 'none');
  const order: string[] = [];
  rt.handle('sync', async (data: { key?: string; n: number }, ctx: HandlerContext) => {
    const leave = meter.enter(ctx, data);
    if (data.key === 'acct-1') order.push(`${ctx.clientId}:${data.n}`);
    await sleep(10);
    leave();
  });
  const payloads = [];
  for (let n = 0; n < 20; n++) {
    // acct-1 on one partition (its shard key), so the order within each client is defined; acct-2 over all four.
    payloads.push({ type: 'sync', clientId: n % 2 === 0 ? 'a' : 'b', concurrencyKey: 'acct-1', shardKey: 'acct-1', data: { key: 'acct-1', n } });
    payloads.push({ type: 'sync', clientId: n % 2 === 0 ? 'a' : 'b', concurrencyKey: 'acct-2', data: { key: 'acct-2', n } });
    payloads.push({ type: 'sync', clientId: 'c', concurrencyKey: `free-${n}`, data: { key: `free-${n}`, n } });
  }
  await rt.submitMany(payloads);
  // Sampled every ms: the view says what the key holds back while one of it runs.
  let mostHeld = 0;
  for (let t = 0; t < 600; t++) {
    clock.advance(1);
    await rt.idle();
    const acct = rt.limits().scopes.find((scope) => scope.scope === 'key:acct-1');
    assert.ok((acct?.running ?? 0) <= 1, JSON.stringify(acct));
    mostHeld = Math.max(mostHeld, acct?.held ?? 0);
  }
  assert.ok(mostHeld > 0, 'the view showed acct-1 payloads held by their key');
  assert.equal(meter.most.get('acct-1'), 1, 'never two of acct-1 at once');
  assert.equal(meter.most.get('acct-2'), 1, 'never two of acct-2 at once, from four partitions');
  assert.equal(meter.most.get('free-0'), 1);
  assert.equal(order.length, 20, 'every acct-1 payload ran');
  for (const client of ['a', 'b']) {
    const ns = order.filter((o) => o.startsWith(`${client}:`)).map((o) => Number(o.split(':')[1]));
    assert.deepEqual(ns, [...ns].sort((x, y) => x - y), `FIFO within client ${client}`);
  }
  const stats = rt.stats();
  assert.equal(stats.partitions.reduce((n, p) => n + p.totals.completed, 0), 60);
  assert.equal(stats.partitions.reduce((n, p) => n + p.totals.failed, 0), 0, 'nothing held was failed');
});

test('per-client maxRunning caps one client while another uses the free slots', async () => {
  const built = coordinated({ partitions: 2, concurrency: 20, limits: { clients: { default: { maxRunning: 2 }, overrides: { big: { maxRunning: 6 } } } } });
  rt = built.rt;
  const { clock } = built;
  const sleep = sleepOn(clock);
  const meter = concurrencyMeter((ctx) => ctx.clientId);
  rt.handle('work', async (data: { key?: string }, ctx: HandlerContext) => {
    const leave = meter.enter(ctx, data);
    await sleep(20);
    leave();
  });
  await rt.submitMany(['small', 'big'].flatMap((clientId) => Array.from({ length: 30 }, () => ({ type: 'work', clientId, data: {} }))));
  await runFor(rt, clock, 5);
  const scopes = new Map(rt.limits().scopes.map((s) => [s.scope, s]));
  assert.equal(scopes.get('client:small')?.running, 2);
  assert.equal(scopes.get('client:big')?.running, 6);
  assert.equal(scopes.get('client:small')?.held, 28, 'the rest of small waits, held by its client limit');
  await runFor(rt, clock, 500);
  assert.deepEqual([meter.most.get('small'), meter.most.get('big')], [2, 6]);
  assert.equal(rt.stats().partitions.reduce((n, p) => n + p.totals.completed, 0), 60);
});

test('starts per second: per type and global hold the rate, the rest waits queued and then runs', async () => {
  const built = coordinated({ partitions: 4, concurrency: 20, limits: { types: { email: { perSecond: 50, burst: 5 } }, global: { perSecond: 200 } } });
  rt = built.rt;
  const { clock } = built;
  const starts: Record<string, number[]> = { email: [], other: [] };
  rt.handle('email', () => void starts.email!.push(clock.now()));
  rt.handle('other', () => void starts.other!.push(clock.now()));
  const t0 = clock.now();
  await rt.submitMany([
    ...Array.from({ length: 200 }, () => ({ type: 'email', data: {} })),
    ...Array.from({ length: 600 }, () => ({ type: 'other', data: {} })),
  ]);
  await runFor(rt, clock, 1_000);
  const inFirstSecond = (list: number[]) => list.filter((t) => t - t0 < 1_000).length;
  // 50/s with a burst of 5 allows at most 55 in the first second; the global 200/s at most ~210 in all.
  const email = inFirstSecond(starts.email!);
  const all = email + inFirstSecond(starts.other!);
  assert.ok(email >= 45 && email <= 56, `email starts in the first second: ${email}`);
  assert.ok(all >= 180 && all <= 212, `all starts in the first second: ${all}`);
  const held = new Map(rt.limits().scopes.map((s) => [s.scope, s.held]));
  assert.ok((held.get('type:email') ?? 0) > 0 || (held.get('global') ?? 0) > 0, JSON.stringify([...held]));
  await runFor(rt, clock, 4_000);
  assert.equal(starts.email!.length + starts.other!.length, 800, 'everything held ran once the rate allowed it');
  assert.equal(rt.stats().partitions.reduce((n, p) => n + p.totals.failed, 0), 0);
});

test('setLimits changes limits at run time: lifting one starts what it held, and a new one holds from the next grant', async () => {
  const built = coordinated({ partitions: 2, concurrency: 10, reservedShare: 0, limits: { clients: { overrides: { a: { maxRunning: 0 } } } } });
  rt = built.rt;
  const { clock } = built;
  const sleep = sleepOn(clock);
  const meter = concurrencyMeter((ctx) => ctx.clientId);
  let done = 0;
  rt.handle('work', async (data: { key?: string }, ctx: HandlerContext) => {
    const leave = meter.enter(ctx, data);
    await sleep(10);
    leave();
    done++;
  });
  const first = await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'work', clientId: 'a', data: {} })));
  await runFor(rt, clock, 100);
  assert.equal(done, 0, 'maxRunning 0 holds the client entirely');
  assert.equal(rt.limits().scopes.find((s) => s.scope === 'client:a')?.held, 20);
  const held = await rt.get(first[0] as string);
  assert.deepEqual([held?.status, held?.heldBy], ['queued', 'client:a'], 'a lookup says which limit holds it');
  assert.equal(rt.stats().partitions.reduce((n, p) => n + p.depth.medium, 0), 20, 'held work stays queued and counted');

  const view = rt.setLimits({ clients: { overrides: { a: { maxRunning: 3 } } } });
  assert.deepEqual(view.rules, { clients: { overrides: { a: { maxRunning: 3 } } } });
  await runFor(rt, clock, 200);
  assert.equal(done, 20);
  assert.equal(meter.most.get('a'), 3);
  assert.equal((await rt.get(first[0] as string))?.heldBy, undefined, 'once it ran, nothing holds it');

  rt.setLimits({});
  await rt.submitMany(Array.from({ length: 20 }, () => ({ type: 'work', clientId: 'a', data: {} })));
  await runFor(rt, clock, 50);
  assert.equal(meter.most.get('a'), 10, 'without limits the client takes every slot');
});

test('bad limits are refused with every field named, and change nothing; a bad concurrencyKey is refused at submit', async () => {
  const built = coordinated({ limits: { global: { maxRunning: 5 } } });
  rt = built.rt;
  const cases: Array<[unknown, string[]]> = [
    [{ global: { maxRunning: -1 } }, ['limits.global.maxRunning']],
    [{ global: { perSecond: Number.NaN } }, ['limits.global.perSecond']],
    [{ global: {} }, ['limits.global']],
    [{ types: { t: { burst: 3 } } }, ['limits.types.t.burst', 'limits.types.t']],
    [{ clients: { defaults: { maxRunning: 1 } } }, ['limits.clients.defaults']],
    [{ keys: { overrides: { k: { maxRuning: 1 } } } }, ['limits.keys.overrides.k.maxRuning', 'limits.keys.overrides.k']],
    [{ glob: {} }, ['limits.glob']],
    [[], ['limits']],
  ];
  for (const [bad, fields] of cases) {
    const runtime = rt;
    assert.throws(() => runtime.setLimits(bad as never), (e: unknown) => {
      assert.ok(e instanceof OptionsError && e.code === 'INVALID_OPTIONS');
      assert.deepEqual(e.problems.map((p) => p.field), fields, JSON.stringify(bad));
      return true;
    });
  }
  assert.deepEqual(rt.limits().rules, { global: { maxRunning: 5 } });
  assert.throws(() => coordinated({ limits: { types: { t: { perSecond: 'fast' } } } as never }), (e: unknown) => e instanceof OptionsError && /limits\.types\.t\.perSecond/.test(e.message));
  rt.handle('t', () => {});
  await assert.rejects(rt.submit({ type: 't', concurrencyKey: 42 as never }), (e: unknown) => (e as { code?: string }).code === 'VALIDATION_FAILED' && /concurrencyKey/.test(String(e)));
});

test('/metrics shows what each limit holds and runs, by limit', async () => {
  const s = await serve({ partitions: 2, limits: { clients: { default: { maxRunning: 1 } }, types: { report: { maxRunning: 0 } } } });
  rt = s.rt;
  const release = deferred();
  s.rt.handle('work', () => release.promise);
  s.rt.handle('report', () => undefined);
  const ids = await s.rt.submitMany([
    ...Array.from({ length: 5 }, () => ({ type: 'work', clientId: 'a' })),
    ...Array.from({ length: 3 }, () => ({ type: 'report', clientId: 'b', concurrencyKey: 'monthly' })),
  ]);
  await s.rt.idle();
  const detail = (await s.call(`/api/payloads/${ids[7]}/timeline`)).json as { concurrencyKey?: string; payload: { status: string } };
  assert.deepEqual([detail.concurrencyKey, detail.payload.status], ['monthly', 'queued'], 'the payload page names its key');
  const all = samples((await s.call('/metrics')).text);
  assert.equal(sampleValue(all, 'triage_limit_held_payloads', { limit: 'client:a' }), 4);
  assert.equal(sampleValue(all, 'triage_limit_running', { limit: 'client:a' }), 1);
  assert.equal(sampleValue(all, 'triage_limit_held_payloads', { limit: 'type:report' }), 3, 'a type limit of 0 holds every report');
  release.resolve(undefined);
  for (let i = 0; i < 50 && s.rt.limits().scopes.some((scope) => scope.scope === 'client:a' && scope.held > 0); i++) await new Promise((r) => setTimeout(r, 10));
  const after = samples((await s.call('/metrics')).text);
  assert.equal(sampleValue(after, 'triage_limit_held_payloads', { limit: 'client:a' }) ?? 0, 0, 'once they ran, nothing is held');
  assert.equal(sampleValue(after, 'triage_limit_held_payloads', { limit: 'type:report' }), 3);
});

test('work a limit holds is not load: a rate-limited backlog raises no level, skips and degrades nothing', async () => {
  // 2,000 high payloads of 20 ms on 10 slots would be 4 s of pool time, beyond high's maxWait of 5 s
  // at 20/s; held by a type limit of 20/s, it is what the user asked for, not overload.
  const built = coordinated({ partitions: 4, concurrency: 10, limits: { types: { api: { perSecond: 20 } } } });
  rt = built.rt;
  const { clock, decisions } = built;
  const sleep = sleepOn(clock);
  rt.handle('api', () => sleep(20));
  let relieved = 0;
  rt.events.on('skipped', () => void relieved++);
  rt.events.on('degraded', () => void relieved++);
  let completed = 0;
  rt.events.on('completed', () => void completed++);
  await rt.submitMany(Array.from({ length: 2_000 }, () => ({ type: 'api', priority: 'high' as const })));
  await advanceUntil(rt, clock, () => completed >= 100, 5, 20_000);
  const signals = rt.coordinator?.state().signals;
  assert.ok(signals && signals.projectedWaitRatio < 1, `projected wait ratio ${signals?.projectedWaitRatio}`);
  assert.equal(relieved, 0);
  assert.deepEqual(decisions.filter((d) => d.action === 'level').map((d) => d.level), [], 'no level change');
  assert.ok((rt.limits().scopes.find((scope) => scope.scope === 'type:api')?.held ?? 0) > 1_000, 'the rest is held by the rate');
});

test('on Redis, payloads a key holds are queued work: a restart recovers them with their key, and the next process\'s limits hold them', async () => {
  const prefix = freshPrefix('limits');
  const options = { logger: silentLogger, partitions: 2, redis: { url: REDIS_URL, prefix } };
  try {
    const first = createRuntime({ ...options, limits: { keys: { overrides: { acct: { maxRunning: 0 } } } } });
    first.handle('sync', () => undefined);
    const ids = await first.submitMany(Array.from({ length: 6 }, (_, n) => ({ type: 'sync', concurrencyKey: 'acct', data: n })));
    await first.idle();
    assert.equal(first.limits().scopes.find((scope) => scope.scope === 'key:acct')?.held, 6);
    await first.stop();

    const second = (rt = createRuntime({ ...options, limits: { keys: { default: { maxRunning: 1 } } } }));
    let running = 0;
    let most = 0;
    const release: Array<() => void> = [];
    second.handle('sync', async () => {
      most = Math.max(most, ++running);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
    });
    await second.ready();
    for (let done = 0; done < 6; done++) {
      await until(() => release.length > 0, 'the next acct payload to start', 5_000);
      await new Promise((r) => setTimeout(r, 20)); // room for a second start, if the key let one through
      (release.shift() as () => void)();
    }
    await Promise.all(ids.map((id) => second.waitFor(id)));
    const views = await Promise.all(ids.map((id) => second.get(id)));
    assert.deepEqual(views.map((v) => v?.status), Array(6).fill('completed'));
    assert.equal(most, 1, 'the recovered payloads kept their key: one at a time');
  } finally {
    await rt?.stop();
    rt = undefined;
    await dropPrefix(prefix);
  }
});
