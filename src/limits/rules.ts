/**
 * Rate limits and concurrency keys as options: what a runtime is given (`limits` in its options,
 * `runtime.setLimits` at run time) and how it is checked. A limit caps starts per second (a token
 * bucket) and attempts running at once, for one scope: the whole runtime, a handler type, each
 * client, or each concurrency key a payload carries. The gate (gate.ts) enforces them.
 */
import { OptionsError, type FieldProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';

export interface Limit {
  /** Most attempts started per second, spread through the second (a token bucket). 0 starts nothing. */
  readonly perSecond?: number;
  /** Starts that may go at once after a quiet spell. Default: 1/20 s of `perSecond`, at least 1. */
  readonly burst?: number;
  /** Most attempts running at once. */
  readonly maxRunning?: number;
}

/** A limit for each client (or each concurrency key): every one not in `overrides` has its own copy of `default`. */
export interface KeyedLimits {
  readonly default?: Limit;
  readonly overrides?: Readonly<Record<string, Limit>>;
}

export interface LimitsOptions {
  /** The whole runtime. In a cluster its `perSecond` holds for all nodes together, its `maxRunning` per node. */
  readonly global?: Limit;
  /** Per handler type (in a cluster, `perSecond` for all nodes together, like `global`). */
  readonly types?: Readonly<Record<string, Limit>>;
  /** Per `clientId`. */
  readonly clients?: KeyedLimits;
  /** Per payload `concurrencyKey` (payloads without one are not held by these). */
  readonly keys?: KeyedLimits;
}

const LIMIT_FIELDS = { perSecond: true, burst: true, maxRunning: true } as const satisfies KnownFields<Limit>;
const KEYED_FIELDS = { default: true, overrides: true } as const satisfies KnownFields<KeyedLimits>;
const LIMITS_FIELDS = { global: true, types: true, clients: true, keys: true } as const satisfies KnownFields<LimitsOptions>;

const MAX_RATE = 1_000_000_000;

/** Limits checked and frozen: what the gate reads. A scope without a limit has none (undefined). */
export interface CompiledLimits {
  readonly global: Limit | undefined;
  readonly types: ReadonlyMap<string, Limit>;
  readonly clients: { readonly default: Limit | undefined; readonly overrides: ReadonlyMap<string, Limit> };
  readonly keys: { readonly default: Limit | undefined; readonly overrides: ReadonlyMap<string, Limit> };
}

/** The limits given, checked; throws OptionsError naming every problem (unknown fields included). */
export function compileLimits(raw: unknown, field = 'limits'): CompiledLimits {
  const problems = limitsProblems(raw, field);
  if (problems.length > 0) throw new OptionsError(problems);
  const options = (raw ?? {}) as LimitsOptions;
  const keyed = (k: KeyedLimits | undefined) => ({ default: copy(k?.default), overrides: mapOf(k?.overrides) });
  return {
    global: copy(options.global),
    types: mapOf(options.types),
    clients: keyed(options.clients),
    keys: keyed(options.keys),
  };
}

/** The compiled limits as options again (what `runtime.limits()` reports and the admin page edits). */
export function limitsOptionsOf(compiled: CompiledLimits): LimitsOptions {
  const keyed = (k: CompiledLimits['clients']): KeyedLimits | undefined =>
    k.default === undefined && k.overrides.size === 0
      ? undefined
      : { ...(k.default ? { default: k.default } : {}), ...(k.overrides.size > 0 ? { overrides: Object.fromEntries(k.overrides) } : {}) };
  const clients = keyed(compiled.clients);
  const keys = keyed(compiled.keys);
  return {
    ...(compiled.global ? { global: compiled.global } : {}),
    ...(compiled.types.size > 0 ? { types: Object.fromEntries(compiled.types) } : {}),
    ...(clients ? { clients } : {}),
    ...(keys ? { keys } : {}),
  };
}

const copy = (limit: Limit | undefined): Limit | undefined =>
  limit === undefined ? undefined : Object.freeze({ ...limit });

function mapOf(record: Readonly<Record<string, Limit>> | undefined): ReadonlyMap<string, Limit> {
  const map = new Map<string, Limit>();
  for (const [key, limit] of Object.entries(record ?? {})) map.set(key, copy(limit) as Limit);
  return map;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function limitsProblems(raw: unknown, field: string): FieldProblem[] {
  if (raw === undefined) return [];
  if (!isObject(raw)) return [{ field, problem: 'must be an object' }];
  const problems = unknownFields(raw, LIMITS_FIELDS, field, 'is not a limits option');
  limitProblems(raw.global, `${field}.global`, problems);
  byName(raw.types, `${field}.types`, 'handler type', problems);
  for (const name of ['clients', 'keys'] as const) {
    const keyed = raw[name];
    const at = `${field}.${name}`;
    if (keyed === undefined) continue;
    if (!isObject(keyed)) {
      problems.push({ field: at, problem: 'must be an object ({ default?, overrides? })' });
      continue;
    }
    problems.push(...unknownFields(keyed, KEYED_FIELDS, at, 'is not a keyed-limits option'));
    limitProblems(keyed.default, `${at}.default`, problems);
    byName(keyed.overrides, `${at}.overrides`, name === 'clients' ? 'client id' : 'concurrency key', problems);
  }
  return problems;
}

function byName(value: unknown, at: string, what: string, problems: FieldProblem[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push({ field: at, problem: `must be an object of ${what} → limit` });
    return;
  }
  for (const [name, limit] of Object.entries(value)) limitProblems(limit, `${at}.${name}`, problems);
}

function limitProblems(value: unknown, at: string, problems: FieldProblem[]): void {
  if (value === undefined) return;
  if (!isObject(value)) {
    problems.push({ field: at, problem: 'must be an object ({ perSecond?, burst?, maxRunning? })' });
    return;
  }
  problems.push(...unknownFields(value, LIMIT_FIELDS, at, 'is not a limit field'));
  const number = (name: keyof Limit, min: number, integer: boolean): void => {
    const v = value[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > MAX_RATE || (integer && !Number.isInteger(v))) {
      problems.push({ field: `${at}.${name}`, problem: `must be ${integer ? 'an integer' : 'a number'} from ${min} to ${MAX_RATE}, got ${String(v)}` });
    }
  };
  number('perSecond', 0, false);
  number('burst', 1, false);
  number('maxRunning', 0, true);
  if (value.burst !== undefined && value.perSecond === undefined) problems.push({ field: `${at}.burst`, problem: 'needs perSecond' });
  if (value.perSecond === undefined && value.maxRunning === undefined) problems.push({ field: at, problem: 'sets neither perSecond nor maxRunning' });
}
