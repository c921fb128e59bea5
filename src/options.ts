/**
 * Runtime options: raw (what a user passes, every field optional and documented with its default)
 * → compiled once (defaults applied, checked), so the hot path reads plain numbers.
 */
import { systemClock, type Clock } from './clock.ts';
import { OptionsError, type FieldProblem } from './errors.ts';
import { TIERS, type BackoffOptions, type Tier } from './payload.ts';
import { COORDINATION_FIELDS, compileCoordination, type CompiledCoordination, type CoordinationInput } from './load/options.ts';
import { ClientShares, type FairnessOptions } from './fairness.ts';
import { LimitGate } from './limits/gate.ts';
import type { LimitsOptions } from './limits/rules.ts';
import { unknownFields, type KnownFields } from './known-fields.ts';

export type OverflowPolicy = 'reject' | 'drop-lowest' | 'wait';

/**
 * Load-aware coordination (src/load/options.ts documents every field and default):
 * `coordinator` (on by default; `false` switches it off), `pool` (adaptive size, stuck detection),
 * `throttle` (low-tier starts per second), `boostRules`, `complexity` (the analyzer; `false` off).
 */
export interface RuntimeOptions extends CoordinationInput {
  /** Name of the runtime (actor-system name, metric label). Default: a random id. */
  readonly name?: string;
  /** Number of virtual partitions P; a payload goes to `hash(shardKey) mod P`. Default 16. */
  readonly partitions?: number;
  /** Execution slots shared by all partitions. Default 32. */
  readonly concurrency?: number;
  /** Share of slots that tiers below `reservedFor` never occupy. Default 0.2. */
  readonly reservedShare?: number;
  /** The lowest tier allowed into reserved slots. Default `high`. */
  readonly reservedFor?: Tier;
  /** Queued payloads per tier per partition before the overflow policy applies. Default 250,000. */
  readonly tierCapacity?: Partial<Record<Tier, number>>;
  /** What a full tier does with a newcomer. Default `reject`. */
  readonly overflow?: OverflowPolicy;
  /** With `overflow: 'wait'`, how long a submit waits for room before QueueFullError. Default 5,000 ms. */
  readonly overflowWaitMs?: number;
  /**
   * Longest wait per tier while slots free up: a payload waiting this long is served before any
   * payload that has not. Defaults: critical 1 s, high 5 s, medium 30 s, low 120 s.
   */
  readonly maxWait?: Partial<Record<Tier, number>>;
  /** Complexity at or above which a payload is routed one tier down (not below low, never from critical). Default 8. */
  readonly heavyComplexity?: number;
  /** Largest `data` accepted with its `tags`, in bytes of their JSON form. Default 1 MiB. */
  readonly maxDataBytes?: number;
  /** Defaults for handlers that set none. */
  readonly handlerDefaults?: HandlerDefaults;
  /** Terminal payloads kept per partition for `get` and `waitFor`, oldest evicted first. Default 10,000. */
  readonly retainTerminal?: number;
  /** Time source. Default: the system clock. Tests pass a SimulatedClock. */
  readonly clock?: Clock;
  /** Random source in [0, 1) for backoff jitter. Default Math.random. */
  readonly random?: () => number;
  /**
   * Fair sharing of each tier between clients (`clientId`), by weighted round robin: with weights
   * { a: 3, b: 1 } and both waiting, a is served three payloads to b's one. Default: every client
   * weight 1. Changeable at run time with `runtime.setFairness`.
   */
  readonly fairness?: FairnessOptions;
  /**
   * Rate limits and concurrency limits: starts per second and attempts running at once, for the
   * whole runtime, per handler type, per client and per payload `concurrencyKey`. A payload a limit
   * holds waits in its queue. Changeable at run time with `runtime.setLimits`.
   */
  readonly limits?: LimitsOptions;
}

export const RUNTIME_FIELDS = {
  name: true, partitions: true, concurrency: true, reservedShare: true, reservedFor: true, tierCapacity: true, overflow: true,
  overflowWaitMs: true, maxWait: true, heavyComplexity: true, maxDataBytes: true, handlerDefaults: true, retainTerminal: true,
  clock: true, random: true, fairness: true, limits: true, ...COORDINATION_FIELDS,
} as const satisfies KnownFields<RuntimeOptions>;

/** The keys of `tierCapacity` and `maxWait`. */
const TIER_FIELDS = { critical: true, high: true, medium: true, low: true } as const satisfies KnownFields<Record<Tier, number>>;

export interface HandlerDefaults {
  /** Handler timeout, ms. Default 30,000. */
  readonly timeout?: number;
  /** Retries after the first attempt. Default 3. */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
}

const HANDLER_DEFAULTS_FIELDS = { timeout: true, retries: true, backoff: true } as const satisfies KnownFields<HandlerDefaults>;

export interface CompiledBackoff {
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
  readonly jitter: number;
}

export interface CompiledOptions {
  readonly name: string;
  readonly partitions: number;
  readonly concurrency: number;
  readonly reservedShare: number;
  readonly reservedFor: Tier;
  readonly tierCapacity: Readonly<Record<Tier, number>>;
  readonly overflow: OverflowPolicy;
  readonly overflowWaitMs: number;
  readonly maxWait: Readonly<Record<Tier, number>>;
  readonly heavyComplexity: number;
  readonly maxDataBytes: number;
  readonly timeout: number;
  readonly retries: number;
  readonly backoff: CompiledBackoff;
  readonly retainTerminal: number;
  readonly clock: Clock;
  readonly random: () => number;
  readonly coordination: CompiledCoordination;
  /** Client weights, one object changed in place by `setFairness` (every partition's mailbox reads it). */
  readonly fairness: ClientShares;
  /** Limits and their live counts, one object changed in place by `setLimits` (the pool and every partition read it). */
  readonly limits: LimitGate;
}

export const DEFAULT_MAX_WAIT: Readonly<Record<Tier, number>> = { critical: 1_000, high: 5_000, medium: 30_000, low: 120_000 };
export const DEFAULT_BACKOFF: CompiledBackoff = { initialMs: 1_000, factor: 2, maxMs: 60_000, jitter: 0.2 };

/**
 * The options with their defaults, or one OptionsError listing every problem, unknown fields at
 * every level included. `fields`: the top-level fields the caller accepts (`createRuntime`'s are
 * these and its own).
 */
export function compileOptions(raw: RuntimeOptions = {}, fields: KnownFields<RuntimeOptions> = RUNTIME_FIELDS): CompiledOptions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OptionsError([{ field: 'options', problem: 'must be an object' }]);
  const problems: FieldProblem[] = unknownFields(raw, fields, '', 'is not a runtime option');
  problems.push(
    ...unknownFields(raw.tierCapacity, TIER_FIELDS, 'tierCapacity', `is not a tier (${TIERS.join('|')})`),
    ...unknownFields(raw.maxWait, TIER_FIELDS, 'maxWait', `is not a tier (${TIERS.join('|')})`),
    ...unknownFields(raw.handlerDefaults, HANDLER_DEFAULTS_FIELDS, 'handlerDefaults', 'is not a handler default'),
  );
  const num = (field: string, value: number | undefined, fallback: number, min: number, max: number, int = false): number => {
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (int && !Number.isInteger(value))) {
      problems.push({ field, problem: `must be ${int ? 'an integer' : 'a number'} between ${min} and ${max}, got ${String(value)}` });
      return fallback;
    }
    return value;
  };
  const perTier = (field: string, value: Partial<Record<Tier, number>> | undefined, fallback: Record<Tier, number>, min: number) =>
    Object.fromEntries(TIERS.map((t) => [t, num(`${field}.${t}`, value?.[t], fallback[t], min, Number.MAX_SAFE_INTEGER)])) as Record<Tier, number>;

  if (raw.overflow !== undefined && !['reject', 'drop-lowest', 'wait'].includes(raw.overflow)) {
    problems.push({ field: 'overflow', problem: `must be reject|drop-lowest|wait, got ${JSON.stringify(raw.overflow)}` });
  }
  if (raw.reservedFor !== undefined && !TIERS.includes(raw.reservedFor)) {
    problems.push({ field: 'reservedFor', problem: `must be one of ${TIERS.join('|')}` });
  }
  const defaults = raw.handlerDefaults ?? {};
  problems.push(...backoffProblems(defaults.backoff, 'handlerDefaults.backoff'));
  const concurrency = num('concurrency', raw.concurrency, 32, 1, 1_000_000, true);
  const compiled: CompiledOptions = {
    name: raw.name ?? `triage-${Math.random().toString(36).slice(2, 8)}`,
    partitions: num('partitions', raw.partitions, 16, 1, 65_536, true),
    concurrency,
    reservedShare: num('reservedShare', raw.reservedShare, 0.2, 0, 0.9),
    reservedFor: raw.reservedFor ?? 'high',
    tierCapacity: perTier('tierCapacity', raw.tierCapacity, { critical: 250_000, high: 250_000, medium: 250_000, low: 250_000 }, 1),
    overflow: raw.overflow ?? 'reject',
    overflowWaitMs: num('overflowWaitMs', raw.overflowWaitMs, 5_000, 0, 2_147_483_647),
    maxWait: perTier('maxWait', raw.maxWait, DEFAULT_MAX_WAIT, 1),
    heavyComplexity: num('heavyComplexity', raw.heavyComplexity, 8, 1, 11),
    maxDataBytes: num('maxDataBytes', raw.maxDataBytes, 1 << 20, 0, Number.MAX_SAFE_INTEGER),
    timeout: num('handlerDefaults.timeout', defaults.timeout, 30_000, 1, 2_147_483_647),
    retries: num('handlerDefaults.retries', defaults.retries, 3, 0, 1000, true),
    backoff: compileBackoff(defaults.backoff, DEFAULT_BACKOFF),
    retainTerminal: num('retainTerminal', raw.retainTerminal, 10_000, 0, Number.MAX_SAFE_INTEGER, true),
    clock: raw.clock ?? systemClock,
    random: raw.random ?? Math.random,
    coordination: compileCoordination(raw, concurrency, num, problems),
    fairness: compileFairness(raw.fairness, problems),
    limits: compileLimitGate(raw.limits, problems),
  };
  if (problems.length > 0) throw new OptionsError(problems);
  return compiled;
}

function compileFairness(raw: FairnessOptions | undefined, problems: FieldProblem[]): ClientShares {
  try {
    return new ClientShares(raw ?? {});
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    problems.push(...error.problems);
    return new ClientShares();
  }
}

function compileLimitGate(raw: LimitsOptions | undefined, problems: FieldProblem[]): LimitGate {
  try {
    return new LimitGate(raw);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    problems.push(...error.problems);
    return new LimitGate();
  }
}

/** The fields of a backoff in options, each with its range (those a payload's `backoff` is held to). */
const BACKOFF_RANGES = {
  initialMs: [0, 2_147_483_647], factor: [1, 100], maxMs: [0, 2_147_483_647], jitter: [0, 1],
} as const satisfies Record<keyof BackoffOptions, readonly [number, number]>;

/** Problems with a backoff given in options (the ranges a payload's `backoff` is checked against). */
export function backoffProblems(raw: unknown, field: string): FieldProblem[] {
  const problems = unknownFields(raw, BACKOFF_RANGES, field, 'is not a backoff field');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return problems;
  for (const key of Object.keys(BACKOFF_RANGES) as (keyof typeof BACKOFF_RANGES)[]) {
    let value: unknown;
    try {
      value = (raw as Record<string, unknown>)[key];
    } catch {
      problems.push({ field: `${field}.${key}`, problem: 'could not be read (a getter or proxy trap threw)' });
      continue;
    }
    const [min, max] = BACKOFF_RANGES[key];
    if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max)) {
      problems.push({ field: `${field}.${key}`, problem: `must be a number between ${min} and ${max}, got ${String(value)}` });
    }
  }
  return problems;
}

export function compileBackoff(raw: BackoffOptions | undefined, base: CompiledBackoff): CompiledBackoff {
  if (!raw) return base;
  return {
    initialMs: raw.initialMs ?? base.initialMs,
    factor: raw.factor ?? base.factor,
    maxMs: raw.maxMs ?? base.maxMs,
    jitter: raw.jitter ?? base.jitter,
  };
}

/** Slots a tier may occupy: tiers below `reservedFor` leave the reserved share free. */
export function tierSlotLimit(options: Pick<CompiledOptions, 'reservedShare' | 'reservedFor'>, size: number, tier: Tier): number {
  if (TIERS.indexOf(tier) <= TIERS.indexOf(options.reservedFor)) return size;
  // At least one slot stays reserved once there are two to share; a single slot is never withheld.
  const reserved = size < 2 || options.reservedShare === 0 ? 0 : Math.max(1, Math.floor(size * options.reservedShare));
  return Math.max(0, size - reserved);
}
