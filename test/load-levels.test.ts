import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { initialLevelState, nextLevel, rawLevel, type LevelPolicy, type LevelState, type LoadSignals } from '../src/load/levels.ts';
import { DEFAULT_THRESHOLDS } from '../src/load/options.ts';
import { compileOptions } from '../src/options.ts';
import { OptionsError, ScriptedLoadSampler, systemLoadSampler } from '../src/index.ts';

const QUIET: LoadSignals = {
  eventLoopDelayMs: 0, eventLoopUtilization: 0, cpu: 0, heapUsedRatio: 0, rssBytes: 0, backlogMs: 0, oldestWaitRatio: 0, projectedWaitRatio: 0, offeredLoad: 0,
};
const policy: LevelPolicy = { thresholds: DEFAULT_THRESHOLDS, exitRatio: 0.75, stepDownAfterMs: 3_000 };
const at = (signals: Partial<LoadSignals>): LoadSignals => ({ ...QUIET, ...signals });

/** Feeds one sample per second; returns the level after each. */
function run(samples: Partial<LoadSignals>[], start: LevelState = initialLevelState(0)): string[] {
  let state = start;
  return samples.map((s, i) => (state = nextLevel(state, at(s), policy, (i + 1) * 1_000)).level);
}

describe('load levels', () => {
  test('raw level: the highest level any signal reaches, with the signal that set it', () => {
    assert.deepEqual(rawLevel(QUIET, DEFAULT_THRESHOLDS), { level: 'normal', cause: undefined });
    assert.deepEqual(rawLevel(at({ projectedWaitRatio: 1 }), DEFAULT_THRESHOLDS), { level: 'elevated', cause: 'projectedWaitRatio' });
    assert.deepEqual(rawLevel(at({ projectedWaitRatio: 0.99 }), DEFAULT_THRESHOLDS).level, 'normal', 'work that will wait less than its maxWait is no load');
    assert.deepEqual(rawLevel(at({ projectedWaitRatio: 1, eventLoopDelayMs: 300 }), DEFAULT_THRESHOLDS), { level: 'critical', cause: 'eventLoopDelayMs' });
    // A long queue alone is not load: queued work in time moves no level by default.
    assert.deepEqual(rawLevel(at({ backlogMs: 1e9 }), DEFAULT_THRESHOLDS), { level: 'normal', cause: undefined });
    assert.deepEqual(rawLevel(at({ offeredLoad: 1.79 }), DEFAULT_THRESHOLDS).level, 'elevated');
    assert.deepEqual(rawLevel(at({ cpu: 5 }), DEFAULT_THRESHOLDS).level, 'elevated', 'cpu has no critical threshold by default');
  });

  test('normal → elevated → critical at once; down after a calm dwell, as far as the calm allows', () => {
    const quiet = run([
      { oldestWaitRatio: 0.6 }, // elevated
      { oldestWaitRatio: 1.2 }, // critical
      {}, {}, {}, {}, // quiet from the first of these; 3 s later (the fourth) straight to normal
    ]);
    assert.deepEqual(quiet, ['elevated', 'critical', 'critical', 'critical', 'critical', 'normal']);
    const partly = run([
      { oldestWaitRatio: 1.2 },
      // Under the critical exit line (0.75) but over the elevated one (0.375): down to elevated only…
      { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 },
      {}, {}, {}, {}, // …and to normal once that too has been quiet for 3 s
    ]);
    assert.deepEqual(partly, ['critical', 'critical', 'critical', 'critical', 'elevated', 'elevated', 'elevated', 'elevated', 'elevated', 'normal']);
  });

  test('straight from normal to critical, and the cause is kept', () => {
    const state = nextLevel(initialLevelState(0), at({ eventLoopDelayMs: 350 }), policy, 1_000);
    assert.equal(state.level, 'critical');
    assert.equal(state.cause, 'eventLoopDelayMs');
    // A busy event loop is not an overloaded one: utilisation alone only raises the level to elevated.
    assert.equal(nextLevel(initialLevelState(0), at({ eventLoopUtilization: 1, cpu: 1.5 }), policy, 1_000).level, 'elevated');
    assert.equal(state.since, 1_000);
  });

  test('hysteresis: a signal between the exit line and the threshold holds the level, and restarts the dwell', () => {
    // critical at 1; exit line 0.75 × 1 = 0.75.
    const levels = run([
      { oldestWaitRatio: 1 },
      { oldestWaitRatio: 0.9 }, // under the threshold, over the exit line: stays critical, no dwell
      { oldestWaitRatio: 0.7 }, { oldestWaitRatio: 0.7 }, // calm 2 s…
      { oldestWaitRatio: 0.8 }, // …over the exit line again: the dwell starts over
      { oldestWaitRatio: 0.01 }, { oldestWaitRatio: 0.01 }, { oldestWaitRatio: 0.01 }, { oldestWaitRatio: 0.01 },
    ]);
    assert.deepEqual(levels, ['critical', 'critical', 'critical', 'critical', 'critical', 'critical', 'critical', 'critical', 'normal']);
  });

  test('no flapping around a threshold: oscillating just across it never drops the level', () => {
    const samples = Array.from({ length: 20 }, (_, i) => ({ offeredLoad: i % 2 === 0 ? 1.81 : 1.6 }));
    assert.ok(run(samples).every((l) => l === 'critical'));
  });

  test('the level it steps down to must itself be calm: an elevated signal keeps elevated', () => {
    const levels = run([{ oldestWaitRatio: 2 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }, { oldestWaitRatio: 0.6 }]);
    assert.deepEqual(levels, ['critical', 'critical', 'critical', 'critical', 'elevated', 'elevated', 'elevated', 'elevated']);
  });

  test('Infinity switches a signal off for a level', () => {
    const thresholds = { ...DEFAULT_THRESHOLDS, backlogMs: { elevated: 1_000, critical: Infinity } };
    assert.equal(rawLevel(at({ backlogMs: 1e12 }), thresholds).level, 'elevated');
  });
});

describe('load options', () => {
  test('thresholds, hysteresis and modes are checked; every problem is named at once', () => {
    assert.throws(
      () => compileOptions({
        coordinator: {
          thresholds: { backlogMs: { elevated: 5_000, critical: 1_000 }, latency: { elevated: 1 } } as never,
          exitRatio: 2,
          modes: { critical: { low: 'drop', critical: 'skip' } as never },
        },
        pool: { min: 8, max: 4 },
      }),
      (error: unknown) => {
        assert.ok(error instanceof OptionsError);
        assert.equal(error.code, 'INVALID_OPTIONS');
        const fields = error.problems.map((p) => p.field).sort();
        assert.deepEqual(fields, [
          'coordinator.exitRatio', 'coordinator.modes.critical.critical', 'coordinator.modes.critical.low',
          'coordinator.thresholds.backlogMs', 'coordinator.thresholds.latency', 'pool.max',
        ]);
        return true;
      },
    );
    assert.throws(() => compileOptions({ boostRules: [{ boost: 1.5 } as never] }), /boostRules\[0\]\.boost.*boostRules\[0\] needs a tag/);
  });

  test('defaults: coordinator on, fixed-size pool, analyzer on; coordinator: false switches it off', () => {
    const on = compileOptions({ concurrency: 12 }).coordination;
    assert.ok(on.coordinator);
    assert.equal(on.coordinator.intervalMs, 500);
    assert.deepEqual(on.coordinator.modes.critical, { high: 'normal', medium: 'degrade', low: 'skip' });
    assert.deepEqual([on.pool.min, on.pool.max], [12, 12]);
    assert.ok(on.complexity);
    assert.equal(compileOptions({ coordinator: false }).coordination.coordinator, false);
  });
});

describe('load samplers', () => {
  test('the scripted sampler reports what it is told, meters advance only when spent', () => {
    const s = new ScriptedLoadSampler();
    assert.equal(s.sample().eventLoopDelayMs, 0);
    s.set({ eventLoopDelayMs: 400, cpu: 0.5 });
    assert.deepEqual([s.sample().eventLoopDelayMs, s.sample().cpu], [400, 0.5]);
    s.spend(1_500, 2_048);
    assert.deepEqual([s.cpuMicros(), s.heapUsed()], [1_500, 2_048]);
    s.reset();
    assert.equal(s.sample().cpu, 0);
  });

  test('the system sampler measures the real process', () => {
    const s = systemLoadSampler();
    s.start?.();
    const busyUntil = performance.now() + 30;
    while (performance.now() < busyUntil); // spin: CPU and the event loop are busy
    const load = s.sample();
    s.stop?.();
    assert.ok(load.cpu > 0, `cpu ${load.cpu}`);
    assert.ok(load.eventLoopUtilization > 0 && load.eventLoopUtilization <= 1, `elu ${load.eventLoopUtilization}`);
    assert.ok(load.heapUsedBytes > 0 && load.heapUsedRatio > 0 && load.heapUsedRatio < 1);
    assert.ok(load.rssBytes >= load.heapUsedBytes);
    assert.ok(s.cpuMicros() > 0 && s.heapUsed() > 0);
  });
});
