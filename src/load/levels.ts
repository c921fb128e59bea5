/**
 * Load levels from signals, with hysteresis: a level is entered as soon as one signal crosses its
 * threshold, and left only after every signal has stayed below `exitRatio` × that threshold for
 * `stepDownAfterMs`. The margin stops flapping around a threshold; the dwell stops flapping when
 * relief itself (skipping, degrading) makes the signals drop at once. Stepping down goes as far as
 * the calm allows: from critical straight to normal when every signal has also stayed under the
 * elevated exit line for the dwell, else to elevated.
 */
export const LOAD_LEVELS = ['normal', 'elevated', 'critical'] as const;
export type LoadLevel = (typeof LOAD_LEVELS)[number];

export const LEVEL_RANK: Readonly<Record<LoadLevel, number>> = { normal: 0, elevated: 1, critical: 2 };

/** Everything a level is decided on, each a number where larger means more load. */
export interface LoadSignals {
  /** p99 event-loop delay over the interval, ms. */
  readonly eventLoopDelayMs: number;
  /** Busy share of the event loop, 0–1. */
  readonly eventLoopUtilization: number;
  /** Process CPU as a share of one core. */
  readonly cpu: number;
  /** V8 heap used over its limit, 0–1. */
  readonly heapUsedRatio: number;
  readonly rssBytes: number;
  /** Queued work in time: queued payloads × mean run time ÷ slots, ms. Reported; by default it moves no level. */
  readonly backlogMs: number;
  /** Longest wait of a queued critical or high payload, over its tier's `maxWait`. */
  readonly oldestWaitRatio: number;
  /**
   * How late queued work will be at the current service rate: for each tier, the work queued at it
   * and above in pool time (count × mean run time ÷ slots) over its `maxWait`; the largest. 1 = the
   * newest payload of some tier will wait its whole `maxWait`.
   */
  readonly projectedWaitRatio: number;
  /**
   * Each round's arrival rate × that round's mean run time ÷ slots, averaged over ~20 s: the share
   * of the pool the arrivals ask for, sustained (3 = three times capacity).
   */
  readonly offeredLoad: number;
}
export type SignalName = keyof LoadSignals;

export const SIGNAL_NAMES: readonly SignalName[] = [
  'eventLoopDelayMs', 'eventLoopUtilization', 'cpu', 'heapUsedRatio', 'rssBytes', 'backlogMs', 'oldestWaitRatio', 'projectedWaitRatio', 'offeredLoad',
];

/** Where a signal enters each level. `Infinity` switches a level off for that signal. */
export interface LevelThreshold {
  readonly elevated: number;
  readonly critical: number;
}
export type Thresholds = Readonly<Record<SignalName, LevelThreshold>>;

/** The process signals: they say the process itself is short of breath, not that work is queued. */
export const PROCESS_SIGNALS: ReadonlySet<SignalName> = new Set(['eventLoopDelayMs', 'eventLoopUtilization', 'cpu', 'heapUsedRatio', 'rssBytes']);

export interface LevelPolicy {
  readonly thresholds: Thresholds;
  /** A level is left once every signal is below this share of its threshold. */
  readonly exitRatio: number;
  /** …for this long. */
  readonly stepDownAfterMs: number;
}

export interface LevelState {
  readonly level: LoadLevel;
  readonly since: number;
  /** Since when every signal has been under the critical exit line (undefined while one is above). */
  readonly calmSince: number | undefined;
  /** Since when every signal has been under the elevated exit line. */
  readonly quietSince: number | undefined;
  /** The signal that set or holds the level, for the decision's reason. */
  readonly cause: SignalName | undefined;
}

export const initialLevelState = (now: number): LevelState => ({ level: 'normal', since: now, calmSince: undefined, quietSince: undefined, cause: undefined });

/** The level the signals ask for on their own (no hysteresis), and the signal that asks for most. */
export function rawLevel(signals: LoadSignals, thresholds: Thresholds): { level: LoadLevel; cause: SignalName | undefined } {
  let level: LoadLevel = 'normal';
  let cause: SignalName | undefined;
  for (const name of SIGNAL_NAMES) {
    const value = signals[name];
    const { elevated, critical } = thresholds[name];
    if (value >= critical) return { level: 'critical', cause: name };
    if (value >= elevated && level === 'normal') {
      level = 'elevated';
      cause = name;
    }
  }
  return { level, cause };
}

/** The signal keeping `level` from being left, if any (a signal above `exitRatio` × its threshold). */
export function holdingSignal(signals: LoadSignals, policy: LevelPolicy, level: Exclude<LoadLevel, 'normal'>): SignalName | undefined {
  for (const name of SIGNAL_NAMES) if (signals[name] >= policy.thresholds[name][level] * policy.exitRatio) return name;
  return undefined;
}

/** The next level state: up at once, down after a calm dwell, as far as the calm allows. */
export function nextLevel(state: LevelState, signals: LoadSignals, policy: LevelPolicy, now: number): LevelState {
  const raw = rawLevel(signals, policy.thresholds);
  if (LEVEL_RANK[raw.level] > LEVEL_RANK[state.level]) return { level: raw.level, since: now, calmSince: undefined, quietSince: undefined, cause: raw.cause };
  if (state.level === 'normal') return state.cause === raw.cause ? state : { ...state, cause: raw.cause };
  const aboveElevated = holdingSignal(signals, policy, 'elevated');
  const aboveCritical = state.level === 'critical' ? holdingSignal(signals, policy, 'critical') : undefined;
  const quietSince = aboveElevated === undefined ? state.quietSince ?? now : undefined;
  const calmSince = state.level === 'critical' && aboveCritical === undefined ? state.calmSince ?? now : undefined;
  let level: LoadLevel = state.level;
  if (quietSince !== undefined && now - quietSince >= policy.stepDownAfterMs) level = 'normal';
  else if (state.level === 'critical' && calmSince !== undefined && now - calmSince >= policy.stepDownAfterMs) level = 'elevated';
  if (level !== state.level) return { level, since: now, calmSince: undefined, quietSince: level === 'normal' ? undefined : quietSince, cause: undefined };
  const cause = aboveCritical ?? aboveElevated ?? state.cause;
  if (state.calmSince === calmSince && state.quietSince === quietSince && state.cause === cause) return state;
  return { ...state, calmSince, quietSince, cause };
}
