/**
 * What `createRuntime` accepts: the runtime options (src/options.ts) and the embedding's own
 * (logger, metrics, persistence, Redis, cluster, dead letters, snapshots). Every one is checked
 * before anything is built, and every problem is in one OptionsError: a runtime refused opens no
 * connection and starts nothing.
 */
import { OptionsError, type FieldProblem } from '../errors.ts';
import type { Logger } from '../execution/handlers.ts';
import type { KnownFields } from '../known-fields.ts';
import { compileOptions, RUNTIME_FIELDS, type CompiledOptions, type RuntimeOptions } from '../options.ts';
import { clusterOptionProblems, type ClusterOptions } from '../cluster/options.ts';
import { compileMetricsOptions, type MetricsOptions } from '../metrics/runtime-metrics.ts';
import type { PersistenceEngine } from '../persistence/engine.ts';
import { redisOptionProblems, type RedisEngineOptions } from '../persistence/redis.ts';
import { compileDeadLetterOptions, type DeadLetterOptions } from './dead-letters.ts';
import { compileScheduleLead } from './schedules.ts';

export interface CreateRuntimeOptions extends RuntimeOptions {
  /** Where the engine and `ctx.log` write. Default: warnings and errors to stderr as JSON lines. */
  readonly logger?: Logger;
  /** Prometheus metrics (labels, process metrics). Given: metrics count from creation; otherwise from first use. */
  readonly metrics?: MetricsOptions;
  /** Where state is journalled and snapshotted. Default: in memory (nothing survives the process). */
  readonly persistence?: PersistenceEngine;
  /** Shorthand for a Redis engine: a URL or its options (URL, TLS, password, key prefix). Ignored when `persistence` is given. */
  readonly redis?: string | RedisEngineOptions;
  /**
   * Run as one node of a cluster of processes sharing this Redis: partitions are leased across the
   * live nodes, submits go to whichever node owns the partition, and a dead node's partitions move.
   * Replaces `redis` and `persistence`.
   */
  readonly cluster?: ClusterOptions;
  /** Payloads that failed for good, kept apart from `retainTerminal` for `failed()` and `retry()`: `{ max }` (default 10,000). */
  readonly deadLetters?: DeadLetterOptions;
  /**
   * How long before its tick a schedule submits its payload, ms (0–60,000): the payload waits in its
   * partition's timer heap and starts at the tick, however long the firing itself took. `overlap:
   * 'skip'` schedules fire at the tick. Default 200.
   */
  readonly scheduleLeadMs?: number;
  /** Journal entries per partition between snapshots. Default 1,000. */
  readonly snapshotEvery?: number;
  /**
   * Most often the coordinator and the complexity analyzer (which keep no journal) are snapshotted,
   * ms. Operator actions (pin, release, throttle) are snapshotted at once. Default 1,000.
   */
  readonly snapshotIntervalMs?: number;
}

export const CREATE_RUNTIME_FIELDS = {
  ...RUNTIME_FIELDS, logger: true, metrics: true, persistence: true, redis: true, cluster: true, deadLetters: true, scheduleLeadMs: true,
  snapshotEvery: true, snapshotIntervalMs: true,
} as const satisfies KnownFields<CreateRuntimeOptions>;

/** The options a runtime is built from, each checked and with its default. */
export interface CompiledCreateOptions {
  readonly options: CompiledOptions;
  readonly deadLetterMax: number;
  readonly scheduleLeadMs: number;
  readonly snapshotEvery: number;
  readonly snapshotIntervalMs: number;
}

/** Every problem of every option, unknown fields at every level included, in one OptionsError. */
export function compileCreateOptions(raw: CreateRuntimeOptions): CompiledCreateOptions {
  const problems: FieldProblem[] = [];
  const options = gather(problems, () => compileOptions(raw, CREATE_RUNTIME_FIELDS));
  // Not an object: nothing more to read.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OptionsError(problems);
  if (raw.metrics !== undefined) gather(problems, () => compileMetricsOptions(raw.metrics));
  problems.push(...redisOptionProblems(raw.redis, 'redis'));
  if (raw.cluster !== undefined) problems.push(...clusterOptionProblems(raw.cluster));
  const deadLetterMax = gather(problems, () => compileDeadLetterOptions(raw.deadLetters));
  const scheduleLeadMs = gather(problems, () => compileScheduleLead(raw.scheduleLeadMs));
  const snapshotEvery = raw.snapshotEvery ?? 1_000;
  if (!Number.isInteger(snapshotEvery) || snapshotEvery < 1) problems.push({ field: 'snapshotEvery', problem: 'must be a whole number ≥ 1' });
  const snapshotIntervalMs = raw.snapshotIntervalMs ?? 1_000;
  if (typeof snapshotIntervalMs !== 'number' || !(snapshotIntervalMs >= 0)) problems.push({ field: 'snapshotIntervalMs', problem: 'must be a number of ms ≥ 0' });
  if (options === undefined || deadLetterMax === undefined || scheduleLeadMs === undefined || problems.length > 0) throw new OptionsError(problems);
  return { options, deadLetterMax, scheduleLeadMs, snapshotEvery, snapshotIntervalMs };
}

/** What `compile` returns, or undefined with its OptionsError's problems added to `problems`. */
function gather<T>(problems: FieldProblem[], compile: () => T): T | undefined {
  try {
    return compile();
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}
