import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCoordinator, encodeCoordinator } from '../actors/coordinator/codec.ts';
import type { LedgerEntry } from '../actors/coordinator/ledger.ts';
import type { CoordinatorEffect, CoordinatorMessage, PoolLoad } from '../actors/coordinator/messages.ts';
import type { CoordinatorEnv } from '../actors/coordinator/policy.ts';
import { reduceCoordinator } from '../actors/coordinator/reducer.ts';
import { initialCoordinatorState, levelOf, type CoordinatorState } from '../actors/coordinator/state.ts';
import type { PartitionMessage } from '../actors/partition/messages.ts';
import type { PartitionStats } from '../actors/partition/state.ts';
import { IDLE_LOAD, type ProcessLoad } from '../src/load/sampler.ts';
import { compileOptions, type RuntimeOptions } from '../src/options.ts';
import type { Tier } from '../src/payload.ts';

type Depth = Partial<Record<Tier, number>>;

/** A coordinator driven by hand, two partitions unless told otherwise; effects are kept for inspection. */
function harness(options: RuntimeOptions = {}, partitions = 2) {
  const compiled = compileOptions({ partitions, concurrency: 10, ...options });
  const coordinator = compiled.coordination.coordinator;
  assert.ok(coordinator);
  const env: CoordinatorEnv = { options: coordinator, pool: compiled.coordination.pool, runtime: compiled, partitions };
  let state: CoordinatorState = initialCoordinatorState(partitions, 10, undefined, 0);
  let round = 0;
  let now = 0;
  let accepted = 0;
  const send = (message: CoordinatorMessage): CoordinatorEffect[] => {
    const t = reduceCoordinator(state, message, env);
    state = t.state;
    return t.effects;
  };
  /** One round a second: process load, pool, each partition's depth/oldest wait/running. */
  const tick = (fields: {
    process?: Partial<ProcessLoad>; pool?: Partial<PoolLoad>; depth?: Depth[]; oldestWait?: Depth[]; running?: number[]; arrivals?: number; completed?: number[];
  } = {}): CoordinatorEffect[] => {
    now += 1_000;
    round++;
    accepted += fields.arrivals ?? 0;
    const pool: PoolLoad = { size: 10, busy: 0, byTier: { critical: 0, high: 0, medium: 0, low: 0 }, meanRunMs: 100, ...fields.pool };
    const effects = send({ type: 'round', round, at: now, process: { ...IDLE_LOAD, ...fields.process }, pool });
    for (let p = 0; p < partitions; p++) {
      const depth = { critical: 0, high: 0, medium: 0, low: 0, ...fields.depth?.[p] };
      const oldestWait = { critical: 0, high: 0, medium: 0, low: 0, ...fields.oldestWait?.[p] };
      const load = {
        partition: p, depth, oldestWait, running: fields.running?.[p] ?? 0, delayed: 0, retrying: 0, parked: 0,
        totals: { accepted: p === 0 ? accepted : 0, started: 0, completed: fields.completed?.[p] ?? 0, failed: 0, retried: 0, cancelled: 0, skipped: 0 },
      } as unknown as PartitionStats;
      effects.push(...send({ type: 'report', round, load }));
    }
    return effects;
  };
  const sent = (effects: CoordinatorEffect[]) => effects.flatMap((e) => (e.kind === 'send' ? [[e.partition, e.message] as [number, PartitionMessage]] : []));
  const decided = (effects: CoordinatorEffect[]) => effects.flatMap((e) => (e.kind === 'decision' ? [e.decision] : []));
  const entries = (count: number, partition = 0): LedgerEntry[] => Array.from({ length: count }, (_, i) => ({
    ledgerId: `${partition}-${i}`, id: `p${i}.${partition}`, partition, clientId: 'c', type: 't', tier: 'low', priority: 2,
    deadline: undefined, skippedAt: now, reason: 'test',
  }));
  return { env, send, tick, sent, decided, entries, state: () => state, now: () => now };
}

describe('coordinator: levels and tier modes', () => {
  test('critical: medium degraded and low skipped in every partition; back to normal: restored, each a decision with a reason', () => {
    const h = harness();
    let effects = h.tick({ process: { eventLoopDelayMs: 400 } });
    assert.equal(levelOf(h.state()), 'critical');
    const messages = h.sent(effects).map(([p, m]) => `${p}:${m.type}:${'tier' in m ? m.tier : ''}:${'mode' in m ? m.mode : ''}`);
    assert.deepEqual(messages.sort(), ['0:degrade:low:skip', '0:degrade:medium:degrade', '1:degrade:low:skip', '1:degrade:medium:degrade']);
    const decisions = h.decided(effects);
    assert.deepEqual(decisions.map((d) => d.action), ['level', 'degrade', 'degrade']);
    assert.match(decisions[0]?.reason ?? '', /eventLoopDelayMs at 400 reached its critical threshold \(300\)/);
    assert.equal(decisions[0]?.from, 'normal');
    assert.match(decisions[2]?.reason ?? '', /low due payloads are skipped into the ledger/);
    assert.ok(effects.some((e) => e.kind === 'level' && e.level === 'critical'));

    // The process load eases, but a high payload that waited 3 s (0.6 of its 5 s maxWait) still holds elevated: 2 s later, down to elevated only.
    const held = { depth: [{ high: 1 }, {}], oldestWait: [{ high: 3_000 }, {}] };
    for (let i = 0; i < 2; i++) assert.equal(h.sent(h.tick(held)).length, 0);
    effects = h.tick(held);
    assert.equal(levelOf(h.state()), 'elevated');
    assert.deepEqual(h.sent(effects).map(([, m]) => `${m.type}:${'tier' in m ? m.tier : ''}:${'mode' in m ? m.mode : ''}`).sort(),
      ['degrade:low:degrade', 'degrade:low:degrade', 'restore:medium:', 'restore:medium:'], 'low still degraded at elevated');
    assert.match(h.decided(effects)[0]?.reason ?? '', /stayed under 0.75 × its critical threshold for 2000 ms/);
    // Quiet: 2 s later, normal.
    for (let i = 0; i < 2; i++) h.tick();
    assert.equal(levelOf(h.state()), 'elevated');
    effects = h.tick();
    assert.equal(levelOf(h.state()), 'normal');
    assert.deepEqual(h.sent(effects).map(([, m]) => `${m.type}:${'tier' in m ? m.tier : ''}`), ['restore:low', 'restore:low']);
    assert.match(h.decided(effects)[0]?.reason ?? '', /stayed under 0.75 × its elevated threshold for 2000 ms/);
  });

  test('from critical straight to normal when everything is quiet for the dwell', () => {
    const h = harness();
    h.tick({ process: { eventLoopDelayMs: 400 } });
    for (let i = 0; i < 2; i++) h.tick();
    const effects = h.tick();
    assert.equal(levelOf(h.state()), 'normal');
    assert.deepEqual(h.sent(effects).map(([, m]) => `${m.type}:${'tier' in m ? m.tier : ''}`).sort(), ['restore:low', 'restore:low', 'restore:medium', 'restore:medium']);
  });

  test('queue signals: a long queue the pool drains within its maxWait is no load; work that will miss it, or sustained arrivals over capacity, are', () => {
    const h = harness();
    h.tick({ depth: [{ medium: 150 }, { low: 60 }] }); // 210 queued × 100 ms ÷ 10 slots = 2,100 ms
    assert.equal(h.state().signals.backlogMs, 2_100, 'reported');
    assert.equal(levelOf(h.state()), 'normal', 'a backlog alone moves no level');
    // The burst of the issue: 20,000 low payloads of 2 ms on 10 slots, 4 s of work against low's 120 s.
    const burst = harness();
    burst.tick({ depth: [{ low: 10_000 }, { low: 10_000 }], arrivals: 20_000, pool: { meanRunMs: 2 } });
    assert.ok(burst.state().signals.projectedWaitRatio < 0.05, String(burst.state().signals.projectedWaitRatio));
    assert.ok(burst.state().signals.offeredLoad < 0.5, `one burst is not sustained load (${burst.state().signals.offeredLoad})`);
    assert.equal(levelOf(burst.state()), 'normal');
    // High work queued behind high work: the newest waits 600 × 100 ms ÷ 10 = 6 s, over high's 5 s maxWait; 1,200 of it, twice over.
    const late = harness();
    late.tick({ depth: [{ high: 400 }, { high: 200 }] });
    assert.equal(late.state().signals.projectedWaitRatio, 1.2);
    assert.equal(levelOf(late.state()), 'elevated');
    late.tick({ depth: [{ high: 800 }, { high: 400 }] });
    assert.equal(levelOf(late.state()), 'critical');
    // Low work counts the work queued above it: 100 high + 11,900 low = 120 s of work, low's whole maxWait.
    const behind = harness();
    behind.tick({ depth: [{ high: 100 }, { low: 11_900 }] });
    assert.equal(behind.state().signals.projectedWaitRatio, 1);
    // Arrivals at 3× capacity: sustained for 30 s they are critical; for 5 s they are not yet even elevated.
    const offered = harness();
    const levels: string[] = [];
    for (let i = 0; i < 30; i++) {
      offered.tick({ arrivals: 300 }); // 300/s × 100 ms ÷ 10 slots → 3× capacity
      levels.push(levelOf(offered.state()));
    }
    assert.equal(levels[4], 'normal', `after 5 s: ${offered.state().signals.offeredLoad}`);
    assert.ok(offered.state().signals.offeredLoad > 1.8, String(offered.state().signals.offeredLoad));
    assert.equal(levelOf(offered.state()), 'critical');
    // Once they stop, what runs next costs more (the backlog's full-cost payloads after degraded
    // ones): the arrivals were priced at what ran when they came, so the offered load only decays.
    const after: number[] = [offered.state().signals.offeredLoad];
    for (let i = 0; i < 10; i++) {
      offered.tick({ arrivals: 0, pool: { meanRunMs: 400 } });
      after.push(offered.state().signals.offeredLoad);
    }
    assert.ok(after.every((load, i) => i === 0 || load < (after[i - 1] as number)), `decays: ${after.map((x) => x.toFixed(2)).join(' ')}`);
    // A core and the loop kept busy by a burst that drains in seconds is healthy; kept busy for a minute it is not.
    const busy = harness();
    const busyLevels: string[] = [];
    for (let i = 0; i < 90; i++) {
      busy.tick({ process: { cpu: 1, eventLoopUtilization: 1 } });
      busyLevels.push(levelOf(busy.state()));
    }
    assert.deepEqual(busyLevels.slice(0, 10), Array(10).fill('normal'), 'a 10 s burst at full CPU moves no level');
    assert.equal(levelOf(busy.state()), 'elevated', `sustained: cpu ${busy.state().signals.cpu}`);
    const flowing = harness();
    flowing.tick({ completed: [100, 40] });
    flowing.tick({ completed: [350, 40] });
    assert.deepEqual(flowing.state().throughput, [250, 0], 'completions per second, per partition');
    const waited = harness();
    waited.tick({ depth: [{ high: 1 }], oldestWait: [{ high: 5_000 }] }); // high waited its whole maxWait
    assert.equal(waited.state().signals.oldestWaitRatio, 1);
    assert.equal(levelOf(waited.state()), 'critical');
  });

  test('a round is decided only when every partition has reported', () => {
    const h = harness();
    h.send({ type: 'round', round: 1, at: 1_000, process: { ...IDLE_LOAD, eventLoopDelayMs: 500 }, pool: { size: 10, busy: 0, byTier: { critical: 0, high: 0, medium: 0, low: 0 }, meanRunMs: 0 } });
    const load = { partition: 0, depth: { critical: 0, high: 0, medium: 0, low: 0 }, oldestWait: { critical: 0, high: 0, medium: 0, low: 0 }, running: 0, totals: { accepted: 0 } } as unknown as PartitionStats;
    h.send({ type: 'report', round: 1, load });
    assert.equal(levelOf(h.state()), 'normal', 'one of two reports');
    h.send({ type: 'report', round: 1, load: { ...load, partition: 1 } });
    assert.equal(levelOf(h.state()), 'critical');
  });
});

describe('coordinator: operator actions', () => {
  test('pin holds a level whatever the signals; release hands it back to the signals, with hysteresis', () => {
    const h = harness();
    const pinned = h.send({ type: 'pin', level: 'critical', at: 500 });
    assert.equal(levelOf(h.state()), 'critical');
    assert.deepEqual(h.decided(pinned).map((d) => d.action), ['pin', 'degrade', 'degrade']);
    assert.match(h.decided(pinned)[1]?.reason ?? '', /pinned by an operator/);
    for (let i = 0; i < 10; i++) h.tick();
    assert.equal(levelOf(h.state()), 'critical', 'calm signals do not move a pin');
    h.send({ type: 'release', at: h.now() });
    assert.equal(h.state().pinned, undefined);
    for (let i = 0; i < 2; i++) h.tick();
    assert.equal(levelOf(h.state()), 'critical', 'the dwell applies after a release');
    h.tick();
    assert.equal(levelOf(h.state()), 'normal');
    const pinNormal = harness();
    pinNormal.send({ type: 'pin', level: 'normal', at: 0 });
    pinNormal.tick({ process: { eventLoopDelayMs: 10_000 } });
    assert.equal(levelOf(pinNormal.state()), 'normal', 'a pin to normal overrides overload too');
  });

  test('throttle changes are decisions and an effect on the pool', () => {
    const h = harness();
    const effects = h.send({ type: 'throttle', perSecond: 5, at: 10 });
    assert.deepEqual(effects.filter((e) => e.kind === 'throttle'), [{ kind: 'throttle', perSecond: 5 }]);
    assert.equal(h.state().lowThrottle, 5);
    assert.match(h.decided(effects)[0]?.reason ?? '', /5 starts per second/);
  });
});

describe('coordinator: ledger and make-up', () => {
  test('make-up waits for normal, then reschedules in batches bounded by the backlog it may add', () => {
    const h = harness({ coordinator: { makeup: { maxBacklogMs: 1_000, boost: 3 } } });
    h.send({ type: 'pin', level: 'critical', at: 0 });
    h.send({ type: 'skipped', entries: [...h.entries(250, 0), ...h.entries(50, 1)] });
    assert.equal(h.state().ledger.entries.size, 300);
    assert.equal(h.sent(h.tick()).filter(([, m]) => m.type === 'reschedule').length, 0, 'not while critical');
    // 1,000 ms of pool time = 1,000 × 10 slots ÷ 100 ms = 100 payloads queued at most.
    let effects = h.send({ type: 'pin', level: 'normal', at: h.now() });
    assert.equal(h.sent(effects).flatMap(([, m]) => (m.type === 'reschedule' ? m.entries : [])).length, 100, 'nothing queued: room for 100');
    effects = h.tick({ depth: [{ high: 30 }] }); // 30 queued: room for 70
    const rescheduled = h.sent(effects).flatMap(([p, m]) => (m.type === 'reschedule' ? m.entries.map((e) => [p, e.ledgerId, m.boost]) : []));
    assert.equal(rescheduled.length, 70);
    assert.ok(rescheduled.every(([p, id, boost]) => String(id).startsWith(`${p}-`) && boost === 3), 'each to its own partition, boosted');
    assert.match(h.decided(effects).find((d) => d.action === 'makeup')?.reason ?? '', /room for 70 .* priority \+3; 130 left/);
    effects = h.tick({ depth: [{ low: 100 }] });
    assert.equal(h.sent(effects).length, 0, 'the queue is full of make-up work: nothing more');
    effects = h.tick({ depth: [{ low: 10 }] });
    assert.equal(h.sent(effects).flatMap(([, m]) => (m.type === 'reschedule' ? m.entries : [])).length, 90);
    h.send({ type: 'pin', level: 'elevated', at: h.now() });
    assert.equal(h.sent(h.tick()).filter(([, m]) => m.type === 'reschedule').length, 0, 'paused above normal');
    assert.equal(h.state().ledger.entries.size, 40);
    assert.deepEqual(h.state().ledger.totals, { added: 300, rescheduled: 260, expired: 0, cancelled: 0 });
  });

  test('reschedule-now empties the ledger whatever the level; expiry on deadline; cancellations leave', () => {
    const h = harness();
    h.send({ type: 'pin', level: 'critical', at: 0 });
    const withDeadline = h.entries(3).map((e, i) => ({ ...e, deadline: i === 0 ? 2_000 : undefined }));
    let effects = h.send({ type: 'skipped', entries: withDeadline });
    assert.deepEqual(effects.filter((e) => e.kind === 'wake'), [{ kind: 'wake', at: 2_000 }], 'a timer for the first deadline');
    effects = h.send({ type: 'expire-due', at: 2_000 });
    assert.deepEqual(h.sent(effects).map(([, m]) => m.type === 'expire' && m.entries.map((e) => e.ledgerId)), [['0-0']]);
    h.send({ type: 'unledger', ledgerIds: ['0-1'] });
    effects = h.send({ type: 'reschedule-now', at: 2_500 });
    assert.deepEqual(h.sent(effects).map(([, m]) => m.type === 'reschedule' && m.entries.map((e) => e.ledgerId)), [['0-2']]);
    assert.equal(h.state().ledger.entries.size, 0);
    assert.deepEqual(h.state().ledger.totals, { added: 3, rescheduled: 1, expired: 1, cancelled: 1 });
  });

  test('relief in bounded slices: a reschedule or expiry of thousands goes as messages of at most 512, expiry a bounded number a round', () => {
    const h = harness();
    h.send({ type: 'pin', level: 'critical', at: 0 });
    h.send({ type: 'skipped', entries: h.entries(1_100, 0) });
    let effects = h.send({ type: 'reschedule-now', at: 100 });
    const sizes = h.sent(effects).map(([p, m]) => `${p}:${m.type === 'reschedule' ? m.entries.length : m.type}`);
    assert.deepEqual(sizes, ['0:512', '0:512', '0:76'], 'one partition, three turns of its own');
    const doomed = h.entries(5_000, 1).map((e) => ({ ...e, deadline: 2_000 }));
    h.send({ type: 'skipped', entries: doomed });
    effects = h.send({ type: 'expire-due', at: 2_000 });
    const expired = h.sent(effects).reduce((n, [, m]) => n + (m.type === 'expire' ? m.entries.length : 0), 0);
    assert.equal(expired, 4_096, 'a bounded round');
    assert.ok(h.sent(effects).every(([, m]) => m.type !== 'expire' || m.entries.length <= 512));
    assert.ok(effects.some((e) => e.kind === 'wake' && (e.at ?? Infinity) <= 2_000), 'the rest at once, in a round of its own');
    effects = h.send({ type: 'expire-due', at: 2_000 });
    assert.equal(h.sent(effects).reduce((n, [, m]) => n + (m.type === 'expire' ? m.entries.length : 0), 0), 904);
    assert.equal(h.state().ledger.entries.size, 0);
  });

  test('skips change the ledger in place: the control state stays the same object, and a snapshot taken before keeps what it saw', () => {
    const h = harness();
    h.send({ type: 'pin', level: 'critical', at: 0 });
    const before = h.state();
    h.send({ type: 'skipped', entries: h.entries(3) });
    const encoded = JSON.stringify(encodeCoordinator(h.state()));
    h.send({ type: 'skipped', entries: [...h.entries(3), ...h.entries(2, 1)] }); // the first three again: a re-collect
    assert.equal(h.state(), before, 'no copy of the control state for a skip');
    assert.equal(h.state().ledger.size, 5);
    assert.equal(h.state().ledger.totals.added, 5);
    assert.equal(JSON.parse(encoded).data.ledger.entries.length, 3, 'the snapshot is a copy');
    assert.equal(decodeCoordinator(JSON.parse(encoded)).ledger.size, 3);
  });
});

describe('coordinator: elevate, transfer, pool', () => {
  test('elevate: a high tier overflows while reserved slots stand idle → medium elsewhere served as high, until it ends', () => {
    const h = harness({}, 3);
    // Pool 10, reserve 2: medium may use 8 and uses them; 1 slot free that only high could use.
    const pool = { busy: 9, byTier: { critical: 0, high: 1, medium: 8, low: 0 } };
    let effects = h.tick({ pool, depth: [{ high: 5 }, { medium: 20 }, { medium: 3, high: 1 }], oldestWait: [{ high: 1_500 }] });
    assert.deepEqual(h.sent(effects), [[1, { type: 'elevate', tier: 'medium', as: 'high' }]], 'partition 2 has high work of its own');
    assert.match(h.decided(effects).find((d) => d.action === 'elevate')?.reason ?? '', /high overflows in partition 0 while 1 reserved slot\(s\) stand idle/);
    effects = h.tick({ pool, depth: [{ high: 4 }, { medium: 20 }], oldestWait: [{ high: 2_000 }] });
    assert.equal(h.sent(effects).length, 0, 'already elevated');
    effects = h.tick({ pool, depth: [{}, { medium: 20 }] });
    assert.deepEqual(h.sent(effects), [[1, { type: 'elevate', tier: 'medium', as: 'medium' }]]);
    const noIdle = harness({}, 2);
    effects = noIdle.tick({ pool: { busy: 10, byTier: { critical: 0, high: 2, medium: 8, low: 0 } }, depth: [{ high: 5 }, { medium: 20 }], oldestWait: [{ high: 1_500 }] });
    assert.equal(noIdle.sent(effects).length, 0, 'no idle slot: elevating would only take slots from high');
  });

  test('transfer: the hottest tier sends a bounded batch to an idle partition', () => {
    const h = harness({ tierCapacity: { low: 100 }, coordinator: { transfer: { batchSize: 30 } } }, 3);
    const effects = h.tick({ depth: [{ low: 80 }, { low: 2 }, { low: 60 }], running: [2, 0, 3] });
    assert.deepEqual(h.sent(effects), [[0, { type: 'transfer-out', tier: 'low', to: 1, max: 30 }]]);
    const d = h.decided(effects).find((x) => x.action === 'transfer');
    assert.deepEqual([d?.partition, d?.to, d?.count, d?.tier], [0, 1, 30, 'low']);
    const busyEverywhere = harness({ tierCapacity: { low: 100 } }, 2);
    assert.equal(busyEverywhere.sent(busyEverywhere.tick({ depth: [{ low: 80 }, { low: 2 }], running: [3, 9] })).length, 0, 'the cold partition runs its share: not idle');
  });

  test('pool: grows on deep queues, waits out the cooldown, shrinks when idle or when the process is overloaded', () => {
    const h = harness({ pool: { min: 10, max: 20, checkIntervalMs: 1_000, cooldownMs: 3_000, step: 0.5 } });
    const deep = { depth: [{ medium: 30 }, {}] }; // 3 per slot
    h.tick(deep); // first check comes after the cooldown since start
    h.tick(deep);
    let effects = h.tick(deep);
    assert.deepEqual(effects.filter((e) => e.kind === 'resize'), [{ kind: 'resize', size: 15 }]);
    assert.match(h.decided(effects).find((d) => d.action === 'scale')?.reason ?? '', /30 queued for 10 slots/);
    h.tick(deep);
    h.tick(deep);
    assert.equal(h.state().poolTarget, 15, 'cooldown');
    effects = h.tick(deep);
    assert.deepEqual(effects.filter((e) => e.kind === 'resize'), [{ kind: 'resize', size: 20 }]);
    for (let i = 0; i < 3; i++) h.tick(deep);
    assert.equal(h.state().poolTarget, 20, 'max');
    effects = h.tick({ pool: { size: 20, busy: 2 } });
    assert.deepEqual(effects.filter((e) => e.kind === 'resize'), [{ kind: 'resize', size: 10 }]);
    const hot = harness({ pool: { min: 4, max: 20, checkIntervalMs: 1_000, cooldownMs: 0 } });
    hot.tick({ ...deep, process: { eventLoopDelayMs: 120 } });
    assert.equal(hot.state().poolTarget, 10, 'elevated process load: no growth');
    hot.tick({ ...deep, process: { eventLoopDelayMs: 500 } });
    assert.ok(hot.state().poolTarget < 10, 'critical process load: fewer slots');
  });
});
