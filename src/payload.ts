/**
 * The payload model: what a client submits (`PayloadInput`), what validation turns it into
 * (`Payload`), and what `get(id)` reports (`PayloadView`).
 */
import type { PayloadFailure } from './errors.ts';

/** Priority mailboxes, most urgent first. Tiers are data: code iterates this list. */
export const TIERS = ['critical', 'high', 'medium', 'low'] as const;
export type Tier = (typeof TIERS)[number];

/** Rank used for ordering: a higher rank is served first. */
export const TIER_RANK: Readonly<Record<Tier, number>> = { critical: 3, high: 2, medium: 1, low: 0 };

/** Named priorities map onto the numeric 1–10 scale (10 most urgent). */
export const NAMED_PRIORITY: Readonly<Record<Tier, number>> = { critical: 10, high: 8, medium: 5, low: 2 };

export interface BackoffOptions {
  /** Delay before the first retry, ms. Default 1000. */
  readonly initialMs?: number;
  /** Growth per attempt. Default 2. */
  readonly factor?: number;
  /** Upper bound of one delay, ms. Default 60000. */
  readonly maxMs?: number;
  /** Random share of each delay (0–1): delay × (1 − jitter × random). Default 0.2. */
  readonly jitter?: number;
}

export type TimeInput = Date | number | string;

/** What a client submits. Only `type` is required. */
export interface PayloadInput<D = unknown> {
  /** Which handler runs it. */
  readonly type: string;
  readonly data?: D;
  /** Who submitted it. Default `"default"`. */
  readonly clientId?: string;
  /** 1–10 (10 most urgent) or `critical|high|medium|low`. Default `medium` (5). */
  readonly priority?: number | Tier;
  /** The client's estimate of cost, 1–10. Default 1. */
  readonly complexity?: number;
  /** Run no earlier than this (Date, epoch ms, or ISO-8601 string). Exclusive with `delay`. */
  readonly runAt?: TimeInput;
  /** Run no earlier than this many ms from now. Exclusive with `runAt`. */
  readonly delay?: number;
  /** After this instant the payload is pointless; it expires instead of running. */
  readonly deadline?: TimeInput;
  /** Submitting the same key again returns the first payload's id and enqueues nothing. */
  readonly idempotencyKey?: string;
  /** Handler timeout in ms; overrides the handler's default. */
  readonly timeout?: number;
  /** Retries after the first attempt; overrides the handler's default. */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  /** Which partition owns it: `hash(shardKey) mod P`. Default: the idempotency key, else the id. */
  readonly shardKey?: string;
  /** Free-form labels (boost rules match on them). */
  readonly tags?: readonly string[];
  /**
   * Payloads that must end before this one runs: ids of accepted payloads, or, within one
   * `submitMany` call, the `ref` of another payload of the same call. Unknown ids and cycles are
   * rejected at submit. The handler reads their outcomes from `ctx.dependencies`.
   */
  readonly dependsOn?: readonly string[];
  /**
   * What happens when a dependency ends without completing (failed, cancelled or skipped):
   * `fail` (default) fails this payload with `DependencyFailedError`, `skip` skips it, `continue`
   * runs it anyway once every dependency has ended.
   */
  readonly onDependencyFailure?: DependencyFailurePolicy;
  /** A name for this payload within one `submitMany` call, for other payloads' `dependsOn`. */
  readonly ref?: string;
  /**
   * Debounce or throttle by key: `throttle` keeps the first payload of `key` for `ttlMs` and answers
   * later submits under the key with its id; `debounce` holds the payload until `ttlMs` passed
   * without another submit under the key, each later one replacing its data (same id). The key
   * decides the partition. Not with `idempotencyKey`, `shardKey` or `dependsOn`; `debounce` not with
   * `runAt`/`delay`.
   */
  readonly dedupe?: DedupeOptions;
  /**
   * The payload's concurrency key: limits per key (`limits.keys` in the runtime's options) hold
   * how many payloads of one key run at once and how many start per second, across clients.
   */
  readonly concurrencyKey?: string;
}

export const DEDUPE_MODES = ['debounce', 'throttle'] as const;
export type DedupeMode = (typeof DEDUPE_MODES)[number];

export interface DedupeOptions {
  readonly key: string;
  readonly mode: DedupeMode;
  /** The window, ms: throttle's from the first submit, debounce's of quiet after the latest. */
  readonly ttlMs: number;
}

export const DEPENDENCY_FAILURE_POLICIES = ['fail', 'skip', 'continue'] as const;
export type DependencyFailurePolicy = (typeof DEPENDENCY_FAILURE_POLICIES)[number];

/** How one dependency ended, as a dependent's handler sees it in `ctx.dependencies`. */
export interface DependencyOutcome {
  readonly status: 'completed' | 'failed' | 'cancelled' | 'skipped';
  /** The dependency's result, when it completed. */
  readonly result?: unknown;
  /** Why it did not complete. */
  readonly error?: PayloadFailure;
}

/** Outcomes of a payload's dependencies, by dependency id. */
export type DependencyOutcomes = Readonly<Record<string, DependencyOutcome>>;

/**
 * A validated, normalised payload, ready for a partition. Plain data: safe to journal. Every field
 * is always present (undefined when unset) so all payloads share one shape.
 */
export interface Payload {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly clientId: string;
  readonly priority: number;
  readonly complexity: number;
  readonly submittedAt: number;
  readonly runAt: number | undefined;
  readonly deadline: number | undefined;
  readonly idempotencyKey: string | undefined;
  readonly timeout: number | undefined;
  readonly retries: number | undefined;
  readonly backoff: BackoffOptions | undefined;
  readonly tags: readonly string[] | undefined;
  /** Outcomes of its dependencies, set when the dependency graph releases it; undefined without `dependsOn`. */
  readonly dependencies: DependencyOutcomes | undefined;
  /**
   * The shard key the client gave (undefined when it gave none). Keyed payloads never move between
   * partitions: the key says their order and ownership matter. Records always carry the field.
   */
  readonly shardKey: string | undefined;
  /** Debounce or throttle by key (undefined without). */
  readonly dedupe: DedupeOptions | undefined;
  /** The key its per-key limits count it under (undefined without). */
  readonly concurrencyKey: string | undefined;
}

/** `waiting`: held by the dependency graph until its dependencies end. */
/**
 * `deferred`: skipped under load, waiting in the coordinator's ledger to be rescheduled (not
 * terminal). `skipped`: evicted by the `drop-lowest` overflow policy (terminal). `expired`: its
 * `deadline` passed before it could run (terminal). `moved`: handed to another partition by a
 * transfer; this partition only forwards lookups (the payload's status is the other partition's).
 */
export type PayloadStatus =
  | 'waiting' | 'delayed' | 'queued' | 'running' | 'deferred' | 'moved' | 'completed' | 'failed' | 'cancelled' | 'skipped' | 'expired';
/**
 * A payload as plain data: the same fields in the same order (one hidden class), every one its own
 * (a payload made in a record's shape reads some through accessors), `runAt` and `dependencies` as given.
 */
export function plainPayload(p: Payload, runAt: number | undefined, dependencies: Payload['dependencies']): Payload {
  return {
    id: p.id,
    type: p.type,
    data: p.data,
    clientId: p.clientId,
    priority: p.priority,
    complexity: p.complexity,
    submittedAt: p.submittedAt,
    runAt,
    deadline: p.deadline,
    idempotencyKey: p.idempotencyKey,
    timeout: p.timeout,
    retries: p.retries,
    backoff: p.backoff,
    tags: p.tags,
    dependencies,
    shardKey: p.shardKey,
    dedupe: p.dedupe,
    concurrencyKey: p.concurrencyKey,
  };
}

export const TERMINAL_STATUSES: ReadonlySet<PayloadStatus> = new Set(['completed', 'failed', 'cancelled', 'skipped', 'expired']);

/** What `get(id)` returns. */
export interface PayloadView {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly partition: number;
  readonly status: PayloadStatus;
  readonly tier: Tier;
  readonly priority: number;
  readonly complexity: number;
  /** Attempts started so far. */
  readonly attempts: number;
  readonly degraded: boolean;
  /** While `deferred`: its entry in the coordinator's ledger. */
  readonly ledgerId?: string | undefined;
  readonly submittedAt: number;
  readonly runAt: number | undefined;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly progress: unknown;
  readonly result: unknown;
  readonly error: PayloadFailure | undefined;
  /** While queued behind a rate or concurrency limit of its client or key: that limit (`client:<id>`, `key:<k>`). */
  readonly heldBy?: string;
}
