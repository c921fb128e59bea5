/**
 * The coordinator's state: the small control state (levels, modes, reports, decisions…) is an
 * immer value (plain data and persistent collections, no callbacks) whose versions the snapshots
 * and the API read; the ledger, which a burst of skips can fill with tens of thousands of entries,
 * is owned mutable state changed in place by the transitions (ledger.ts).
 */
import { PQueue } from '../../src/collections/index.ts';
import { initialLevelState, type LevelState, type LoadLevel, type LoadSignals } from '../../src/load/levels.ts';
import type { ManagedTier, TierMode } from '../../src/load/options.ts';
import { IDLE_LOAD, type ProcessLoad } from '../../src/load/sampler.ts';
import type { Decision } from '../../src/load/system-events.ts';
import type { PartitionStats } from '../partition/state.ts';
import { Ledger } from './ledger.ts';
import type { PoolLoad } from './messages.ts';

export interface CoordinatorState {
  readonly levels: LevelState;
  /** An operator's pin: the level stays here until released. */
  readonly pinned: LoadLevel | undefined;
  readonly round: number;
  readonly roundAt: number;
  /** Reports still expected this round; the round is decided when the last arrives. */
  readonly awaiting: number;
  /** Each partition's latest report. */
  readonly reports: readonly (PartitionStats | undefined)[];
  readonly process: ProcessLoad;
  readonly pool: PoolLoad;
  readonly signals: LoadSignals;
  /** Tier modes as last sent to every partition. */
  readonly modes: Readonly<Record<ManagedTier, TierMode>>;
  /** Partitions whose medium tier is served as high. */
  readonly elevated: readonly number[];
  readonly poolTarget: number;
  readonly poolChangedAt: number;
  readonly poolCheckedAt: number;
  /**
   * Arrival rate (accepted payloads per second, smoothed), the offered load (arrivals × mean run
   * time ÷ slots, smoothed) and the totals they were last measured from.
   */
  readonly arrivals: { readonly accepted: number; readonly at: number; readonly perSecond: number; readonly offered: number };
  /** Each partition's completions per second over the last round, and the totals they were measured from. */
  readonly throughput: readonly number[];
  readonly completed: readonly number[];
  /** The same object from state to state: changed in place, one message at a time. */
  readonly ledger: Ledger;
  /** Newest last, at most `decisionsKept`. */
  readonly decisions: PQueue<Decision>;
  readonly decisionsTotal: number;
  readonly lowThrottle: number | undefined;
}

export const NO_SIGNALS: LoadSignals = {
  eventLoopDelayMs: 0, eventLoopUtilization: 0, cpu: 0, heapUsedRatio: 0, rssBytes: 0, backlogMs: 0, oldestWaitRatio: 0, projectedWaitRatio: 0, offeredLoad: 0,
};

export function initialCoordinatorState(partitions: number, poolSize: number, lowThrottle: number | undefined, now: number): CoordinatorState {
  return {
    levels: initialLevelState(now),
    pinned: undefined,
    round: 0,
    roundAt: now,
    awaiting: 0,
    reports: new Array<PartitionStats | undefined>(partitions).fill(undefined),
    process: IDLE_LOAD,
    pool: { size: poolSize, busy: 0, byTier: { critical: 0, high: 0, medium: 0, low: 0 }, meanRunMs: 0 },
    signals: NO_SIGNALS,
    modes: { high: 'normal', medium: 'normal', low: 'normal' },
    elevated: [],
    poolTarget: poolSize,
    poolChangedAt: now,
    poolCheckedAt: now,
    arrivals: { accepted: 0, at: now, perSecond: 0, offered: 0 },
    throughput: new Array<number>(partitions).fill(0),
    completed: new Array<number>(partitions).fill(0),
    ledger: new Ledger(),
    decisions: PQueue.empty(),
    decisionsTotal: 0,
    lowThrottle,
  };
}

/** The level in force: the pin if there is one. */
export const levelOf = (state: CoordinatorState): LoadLevel => state.pinned ?? state.levels.level;
