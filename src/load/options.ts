/**
 * Options of load-aware coordination: the coordinator, the adaptive pool, the low-tier throttle,
 * boost rules and the complexity analyzer. Raw (every field optional, documented with its default)
 * → compiled once, like src/options.ts, which embeds these in `RuntimeOptions`.
 */
import type { FieldProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import type { Tier } from '../payload.ts';
import type { LoadSampler } from './sampler.ts';
import { SIGNAL_NAMES, type LevelThreshold, type LoadLevel, type SignalName, type Thresholds } from './levels.ts';

/** What a tier does at a load level: run as usual, run degraded, or skip into the ledger. */
export type TierMode = 'normal' | 'degrade' | 'skip';
/** Tiers the coordinator may degrade or skip; critical work is never touched. */
export type ManagedTier = Exclude<Tier, 'critical'>;
export const MANAGED_TIERS: readonly ManagedTier[] = ['high', 'medium', 'low'];

export interface CoordinatorOptions {
  /** How often partitions report load and the coordinator decides, ms. Default 500. */
  readonly intervalMs?: number;
  /**
   * Process load source. Default: the real process (perf_hooks, process.cpuUsage, memory) with the
   * system clock; with any other clock an idle process (inject a ScriptedLoadSampler to script load).
   */
  readonly sampler?: LoadSampler;
  /**
   * Where each signal enters `elevated` / `critical`; `Infinity` switches one off. Defaults:
   * eventLoopDelayMs 100 / 300, eventLoopUtilization 0.98 / Infinity, cpu 0.95 / Infinity,
   * heapUsedRatio 0.85 / 0.95, rssBytes Infinity / Infinity, backlogMs Infinity / Infinity,
   * oldestWaitRatio 0.5 / 1, projectedWaitRatio 1 / 2, offeredLoad 1.2 / 1.8.
   */
  readonly thresholds?: Partial<Record<SignalName, Partial<LevelThreshold>>>;
  /** A level is left once every signal is below this share of its threshold. Default 0.75. */
  readonly exitRatio?: number;
  /** …for this long, ms, one level at a time. Default 2,000. */
  readonly stepDownAfterMs?: number;
  /** Tier modes per level. Defaults: elevated { low: 'degrade' }; critical { medium: 'degrade', low: 'skip' }. */
  readonly modes?: Partial<Record<Exclude<LoadLevel, 'normal'>, Partial<Record<ManagedTier, TierMode>>>>;
  /** A degraded payload's timeout is multiplied by this. Default 0.5. */
  readonly degradedTimeoutFactor?: number;
  /** Rescheduling of skipped payloads once the level is back to normal. */
  readonly makeup?: MakeupOptions;
  /** Serving a partition's medium tier as high while another partition's high tier overflows; `false` turns it off. */
  readonly elevate?: ElevateOptions | false;
  /** Moving queued payloads from the hottest partition to idle ones; `false` turns it off. */
  readonly transfer?: TransferOptions | false;
  /** Decisions kept for inspection, newest last. Default 500. */
  readonly decisionsKept?: number;
}

const COORDINATOR_FIELDS = {
  intervalMs: true, sampler: true, thresholds: true, exitRatio: true, stepDownAfterMs: true, modes: true, degradedTimeoutFactor: true,
  makeup: true, elevate: true, transfer: true, decisionsKept: true,
} as const satisfies KnownFields<CoordinatorOptions>;

/** The levels a threshold, a mode or an inflation is given for. */
const LEVEL_FIELDS = { elevated: true, critical: true } as const satisfies KnownFields<LevelThreshold>;

export interface MakeupOptions {
  /** Priority added to a rescheduled payload (capped at 10). Default 2. */
  readonly boost?: number;
  /** Most payloads rescheduled per interval (`maxBacklogMs` is the real pace; this bounds one message). Default 5,000. */
  readonly batchSize?: number;
  /** Reschedule only while queued work stays under this much pool time, ms (see `backlogMs`). Default 1,000. */
  readonly maxBacklogMs?: number;
}

const MAKEUP_FIELDS = { boost: true, batchSize: true, maxBacklogMs: true } as const satisfies KnownFields<MakeupOptions>;

export interface ElevateOptions {
  /** A high tier overflows when its oldest payload has waited this share of high's `maxWait`. Default 0.2. */
  readonly highWaitRatio?: number;
}

const ELEVATE_FIELDS = { highWaitRatio: true } as const satisfies KnownFields<ElevateOptions>;

export interface TransferOptions {
  /** A tier is hot at this share of its `tierCapacity`. Default 0.5. */
  readonly hotShare?: number;
  /** A partition may receive when its tier is under this share and it runs less than its share of slots. Default 0.1. */
  readonly coldShare?: number;
  /** Most payloads moved per decision. Default 1,000. */
  readonly batchSize?: number;
}

const TRANSFER_FIELDS = { hotShare: true, coldShare: true, batchSize: true } as const satisfies KnownFields<TransferOptions>;

export interface PoolOptions {
  /** Fewest slots. Default `concurrency`. */
  readonly min?: number;
  /** Most slots; above `min` the pool adapts to queue depth and load level. Default `concurrency` (fixed size). */
  readonly max?: number;
  /** Grow when queued payloads per slot reach this. Default 2. */
  readonly scaleUpQueuePerSlot?: number;
  /** Shrink when busy slots fall under this share of the pool and nothing is queued. Default 0.5. */
  readonly scaleDownBusyShare?: number;
  /** Slots added or removed per change, as a share of the current size (at least 1). Default 0.25. */
  readonly step?: number;
  /** How often the size is reconsidered, ms. Default 2,000. */
  readonly checkIntervalMs?: number;
  /** Least time between two changes, ms. Default 5,000. */
  readonly cooldownMs?: number;
  /** A handler still running this long after its timeout is reported stuck, ms. Default 5,000. */
  readonly stuckGraceMs?: number;
}

const POOL_FIELDS = {
  min: true, max: true, scaleUpQueuePerSlot: true, scaleDownBusyShare: true, step: true, checkIntervalMs: true, cooldownMs: true, stuckGraceMs: true,
} as const satisfies KnownFields<PoolOptions>;

export interface ThrottleOptions {
  /** Most low-tier starts per second (changeable at runtime). Default: unlimited. */
  readonly low?: number;
}

const THROTTLE_FIELDS = { low: true } as const satisfies KnownFields<ThrottleOptions>;

/** Adds `boost` to the priority (1–10) of payloads `when` matches, at routing. */
export interface BoostRule {
  readonly name?: string;
  /** A tag that triggers the rule (shorthand for a predicate on `tags`). */
  readonly tag?: string;
  readonly when?: (payload: BoostSubject) => boolean;
  readonly boost: number;
}

const BOOST_RULE_FIELDS = { name: true, tag: true, when: true, boost: true } as const satisfies KnownFields<BoostRule>;

/** What a boost rule sees of a payload. */
export interface BoostSubject {
  readonly type: string;
  readonly clientId: string;
  readonly priority: number;
  readonly complexity: number;
  readonly tags: readonly string[] | undefined;
  readonly data: unknown;
}

export interface ComplexityOptions {
  /** EWMA weight of a new observation. Default 0.2. */
  readonly alpha?: number;
  /** Observations at which the observed cost counts as much as the client's score. Default 10. */
  readonly priorSamples?: number;
  /** Largest weight the observed cost gets in the blend. Default 0.8. */
  readonly maxWeight?: number;
  /** Cost of a score-1 payload, ms; each doubling adds 1 (score = 1 + log2(cost / unitMs)). Default 10. */
  readonly unitMs?: number;
  /** A CPU ms costs this many wall ms (it blocks the event loop). Default 3. */
  readonly cpuWeight?: number;
  /** A MiB of heap costs this many wall ms. Default 1. */
  readonly memoryWeight?: number;
  /** Effective score × (1 + this) at each level. Defaults: elevated 0.1, critical 0.25. */
  readonly inflation?: Partial<Record<Exclude<LoadLevel, 'normal'>, number>>;
  /** CPU and memory are metered on one run in this many (metering costs ~2 µs). Default 16. */
  readonly sampleEvery?: number;
}

const COMPLEXITY_FIELDS = {
  alpha: true, priorSamples: true, maxWeight: true, unitMs: true, cpuWeight: true, memoryWeight: true, inflation: true, sampleEvery: true,
} as const satisfies KnownFields<ComplexityOptions>;

export interface CompiledCoordinator {
  readonly intervalMs: number;
  readonly sampler: LoadSampler | undefined;
  readonly thresholds: Thresholds;
  readonly exitRatio: number;
  readonly stepDownAfterMs: number;
  readonly modes: Readonly<Record<LoadLevel, Readonly<Record<ManagedTier, TierMode>>>>;
  readonly degradedTimeoutFactor: number;
  readonly makeup: Required<MakeupOptions>;
  readonly elevate: Required<ElevateOptions> | false;
  readonly transfer: Required<TransferOptions> | false;
  readonly decisionsKept: number;
}

export interface CompiledPool extends Required<PoolOptions> {}

export interface CompiledComplexity extends Required<Omit<ComplexityOptions, 'inflation'>> {
  readonly inflation: Readonly<Record<LoadLevel, number>>;
}

export interface CompiledCoordination {
  readonly coordinator: CompiledCoordinator | false;
  readonly pool: CompiledPool;
  readonly throttleLow: number | undefined;
  readonly boostRules: readonly BoostRule[];
  readonly complexity: CompiledComplexity | false;
}

export interface CoordinationInput {
  readonly coordinator?: CoordinatorOptions | false;
  readonly pool?: PoolOptions;
  readonly throttle?: ThrottleOptions;
  readonly boostRules?: readonly BoostRule[];
  readonly complexity?: ComplexityOptions | false;
}

export const COORDINATION_FIELDS = { coordinator: true, pool: true, throttle: true, boostRules: true, complexity: true } as const satisfies KnownFields<CoordinationInput>;

export const DEFAULT_THRESHOLDS: Thresholds = {
  eventLoopDelayMs: { elevated: 100, critical: 300 },
  // A busy event loop is not an overloaded one: utilisation and CPU reach 1 under any heavy but
  // healthy load (a burst of cheap payloads), so on their own they only raise the level to elevated.
  eventLoopUtilization: { elevated: 0.98, critical: Infinity },
  cpu: { elevated: 0.95, critical: Infinity },
  heapUsedRatio: { elevated: 0.85, critical: 0.95 },
  rssBytes: { elevated: Infinity, critical: Infinity },
  // A long queue alone is not overload: a burst the pool drains within the tiers' maxWait is what a
  // queue is for. What says queued work is in trouble is that it will miss its deadlines.
  backlogMs: { elevated: Infinity, critical: Infinity },
  oldestWaitRatio: { elevated: 0.5, critical: 1 },
  projectedWaitRatio: { elevated: 1, critical: 2 },
  offeredLoad: { elevated: 1.2, critical: 1.8 },
};

const DEFAULT_MODES: Record<LoadLevel, Record<ManagedTier, TierMode>> = {
  normal: { high: 'normal', medium: 'normal', low: 'normal' },
  elevated: { high: 'normal', medium: 'normal', low: 'degrade' },
  critical: { high: 'normal', medium: 'degrade', low: 'skip' },
};
const TIER_MODES: readonly TierMode[] = ['normal', 'degrade', 'skip'];
const SIGNAL_FIELDS: Readonly<Record<string, true>> = Object.fromEntries(SIGNAL_NAMES.map((name) => [name, true]));

type Num = (field: string, value: number | undefined, fallback: number, min: number, max: number, int?: boolean) => number;

export function compileCoordination(raw: CoordinationInput, concurrency: number, num: Num, problems: FieldProblem[]): CompiledCoordination {
  const object = (field: string, value: unknown): boolean => {
    if (value === undefined || value === false) return false;
    if (typeof value === 'object' && value !== null) return true;
    problems.push({ field, problem: 'must be an object or false' });
    return false;
  };
  const c = object('coordinator', raw.coordinator) ? (raw.coordinator as CoordinatorOptions) : {};
  problems.push(
    ...unknownFields(raw.coordinator === false ? undefined : c, COORDINATOR_FIELDS, 'coordinator', 'is not a coordinator option'),
    ...unknownFields(c.makeup, MAKEUP_FIELDS, 'coordinator.makeup', 'is not a makeup option'),
    ...unknownFields(c.elevate === false ? undefined : c.elevate, ELEVATE_FIELDS, 'coordinator.elevate', 'is not an elevate option'),
    ...unknownFields(c.transfer === false ? undefined : c.transfer, TRANSFER_FIELDS, 'coordinator.transfer', 'is not a transfer option'),
  );
  const coordinator: CompiledCoordinator | false = raw.coordinator === false ? false : {
    intervalMs: num('coordinator.intervalMs', c.intervalMs, 500, 1, 600_000),
    sampler: c.sampler,
    thresholds: compileThresholds(c.thresholds, num, problems),
    exitRatio: num('coordinator.exitRatio', c.exitRatio, 0.75, 0, 1),
    stepDownAfterMs: num('coordinator.stepDownAfterMs', c.stepDownAfterMs, 2_000, 0, 86_400_000),
    modes: compileModes(c.modes, problems),
    degradedTimeoutFactor: num('coordinator.degradedTimeoutFactor', c.degradedTimeoutFactor, 0.5, 0.01, 1),
    makeup: {
      boost: num('coordinator.makeup.boost', c.makeup?.boost, 2, 0, 9, true),
      batchSize: num('coordinator.makeup.batchSize', c.makeup?.batchSize, 5_000, 1, 1_000_000, true),
      maxBacklogMs: num('coordinator.makeup.maxBacklogMs', c.makeup?.maxBacklogMs, 1_000, 1, 86_400_000),
    },
    elevate: c.elevate === false ? false : { highWaitRatio: num('coordinator.elevate.highWaitRatio', c.elevate?.highWaitRatio, 0.2, 0, 100) },
    transfer: c.transfer === false ? false : {
      hotShare: num('coordinator.transfer.hotShare', c.transfer?.hotShare, 0.5, 0, 1),
      coldShare: num('coordinator.transfer.coldShare', c.transfer?.coldShare, 0.1, 0, 1),
      batchSize: num('coordinator.transfer.batchSize', c.transfer?.batchSize, 1_000, 1, 1_000_000, true),
    },
    decisionsKept: num('coordinator.decisionsKept', c.decisionsKept, 500, 1, 1_000_000, true),
  };
  if (coordinator && coordinator.transfer && coordinator.transfer.coldShare >= coordinator.transfer.hotShare) {
    problems.push({ field: 'coordinator.transfer.coldShare', problem: 'must be below transfer.hotShare' });
  }

  problems.push(...unknownFields(raw.pool, POOL_FIELDS, 'pool', 'is not a pool option'));
  const p = raw.pool ?? {};
  const min = num('pool.min', p.min, concurrency, 1, 1_000_000, true);
  const pool: CompiledPool = {
    min,
    max: num('pool.max', p.max, Math.max(min, concurrency), 1, 1_000_000, true),
    scaleUpQueuePerSlot: num('pool.scaleUpQueuePerSlot', p.scaleUpQueuePerSlot, 2, 0, 1_000_000),
    scaleDownBusyShare: num('pool.scaleDownBusyShare', p.scaleDownBusyShare, 0.5, 0, 1),
    step: num('pool.step', p.step, 0.25, 0, 10),
    checkIntervalMs: num('pool.checkIntervalMs', p.checkIntervalMs, 2_000, 1, 86_400_000),
    cooldownMs: num('pool.cooldownMs', p.cooldownMs, 5_000, 0, 86_400_000),
    stuckGraceMs: num('pool.stuckGraceMs', p.stuckGraceMs, 5_000, 0, 2_147_483_647),
  };
  if (pool.max < pool.min) problems.push({ field: 'pool.max', problem: `must be at least pool.min (${pool.min}), got ${pool.max}` });

  problems.push(...unknownFields(raw.throttle, THROTTLE_FIELDS, 'throttle', 'is not a throttle option'));
  const throttleLow = raw.throttle?.low === undefined ? undefined : num('throttle.low', raw.throttle.low, 0, 0, 1_000_000_000);

  const boostRules = raw.boostRules ?? [];
  if (!Array.isArray(boostRules)) problems.push({ field: 'boostRules', problem: 'must be an array' });
  else boostRules.forEach((rule, i) => problems.push(...boostRuleProblems(rule, `boostRules[${i}]`)));

  const x = object('complexity', raw.complexity) ? (raw.complexity as ComplexityOptions) : {};
  problems.push(
    ...unknownFields(raw.complexity === false ? undefined : x, COMPLEXITY_FIELDS, 'complexity', 'is not a complexity option'),
    ...unknownFields(x.inflation, LEVEL_FIELDS, 'complexity.inflation', 'is not a level (elevated|critical)'),
  );
  const complexity: CompiledComplexity | false = raw.complexity === false ? false : {
    alpha: num('complexity.alpha', x.alpha, 0.2, 0.001, 1),
    priorSamples: num('complexity.priorSamples', x.priorSamples, 10, 0, 1_000_000),
    maxWeight: num('complexity.maxWeight', x.maxWeight, 0.8, 0, 1),
    unitMs: num('complexity.unitMs', x.unitMs, 10, 0.001, 86_400_000),
    cpuWeight: num('complexity.cpuWeight', x.cpuWeight, 3, 0, 1_000),
    memoryWeight: num('complexity.memoryWeight', x.memoryWeight, 1, 0, 1_000),
    inflation: {
      normal: 0,
      elevated: num('complexity.inflation.elevated', x.inflation?.elevated, 0.1, 0, 10),
      critical: num('complexity.inflation.critical', x.inflation?.critical, 0.25, 0, 10),
    },
    sampleEvery: num('complexity.sampleEvery', x.sampleEvery, 16, 1, 1_000_000, true),
  };
  return { coordinator, pool, throttleLow, boostRules: Array.isArray(boostRules) ? boostRules : [], complexity };
}

export function boostRuleProblems(rule: unknown, field: string): FieldProblem[] {
  if (typeof rule !== 'object' || rule === null) return [{ field, problem: 'must be an object' }];
  const r = rule as Partial<BoostRule>;
  const problems = unknownFields(rule, BOOST_RULE_FIELDS, field, 'is not a boost rule field');
  if (typeof r.boost !== 'number' || !Number.isInteger(r.boost) || r.boost < -9 || r.boost > 9) {
    problems.push({ field: `${field}.boost`, problem: `must be an integer between -9 and 9, got ${String(r.boost)}` });
  }
  if (r.tag === undefined && r.when === undefined) problems.push({ field, problem: 'needs a tag or a when predicate' });
  if (r.tag !== undefined && (typeof r.tag !== 'string' || r.tag.length === 0)) problems.push({ field: `${field}.tag`, problem: 'must be a non-empty string' });
  if (r.when !== undefined && typeof r.when !== 'function') problems.push({ field: `${field}.when`, problem: 'must be a function' });
  return problems;
}

function compileThresholds(raw: CoordinatorOptions['thresholds'], num: Num, problems: FieldProblem[]): Thresholds {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) {
    problems.push({ field: 'coordinator.thresholds', problem: 'must be an object' });
    return DEFAULT_THRESHOLDS;
  }
  problems.push(...unknownFields(raw, SIGNAL_FIELDS, 'coordinator.thresholds', `is not a signal (${SIGNAL_NAMES.join('|')})`));
  const out = {} as Record<SignalName, LevelThreshold>;
  for (const name of SIGNAL_NAMES) {
    const given = raw?.[name];
    problems.push(...unknownFields(given, LEVEL_FIELDS, `coordinator.thresholds.${name}`, 'is not a level (elevated|critical)'));
    const base = DEFAULT_THRESHOLDS[name];
    const level = (l: 'elevated' | 'critical') => {
      const v = given?.[l];
      // Infinity is allowed here on purpose: it switches a signal off for that level.
      if (v === Infinity) return Infinity;
      return num(`coordinator.thresholds.${name}.${l}`, v, base[l], 0, Number.MAX_VALUE);
    };
    const elevated = level('elevated');
    const critical = level('critical');
    if (critical < elevated) problems.push({ field: `coordinator.thresholds.${name}`, problem: `critical (${critical}) must not be below elevated (${elevated})` });
    out[name] = { elevated, critical };
  }
  return out;
}

function compileModes(raw: CoordinatorOptions['modes'], problems: FieldProblem[]): CompiledCoordinator['modes'] {
  const modes = { normal: DEFAULT_MODES.normal, elevated: { ...DEFAULT_MODES.elevated }, critical: { ...DEFAULT_MODES.critical } };
  problems.push(...unknownFields(raw, LEVEL_FIELDS, 'coordinator.modes', 'is not a level the coordinator sets modes for (elevated|critical)'));
  for (const level of ['elevated', 'critical'] as const) {
    const given = raw?.[level];
    if (given === undefined) continue;
    if (typeof given !== 'object' || given === null || Array.isArray(given)) {
      problems.push({ field: `coordinator.modes.${level}`, problem: 'must be an object' });
      continue;
    }
    for (const [tier, mode] of Object.entries(given)) {
      if (!(MANAGED_TIERS as readonly string[]).includes(tier)) problems.push({ field: `coordinator.modes.${level}.${tier}`, problem: 'is not a tier the coordinator manages (high|medium|low)' });
      else if (!TIER_MODES.includes(mode as TierMode)) problems.push({ field: `coordinator.modes.${level}.${tier}`, problem: `must be normal|degrade|skip, got ${JSON.stringify(mode)}` });
      else modes[level][tier as ManagedTier] = mode as TierMode;
    }
  }
  return modes;
}
