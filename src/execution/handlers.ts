/**
 * Handlers: what runs a payload type, the context it gets, and the per-type options.
 */
import type { BackoffOptions, DependencyOutcomes } from '../payload.ts';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface HandlerContext {
  readonly id: string;
  readonly clientId: string;
  /** 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** True when the payload runs with reduced resources under load; do less if you can. */
  readonly degraded: boolean;
  /** Fires on timeout or cancellation; pass it to fetch, streams, timers. */
  readonly signal: AbortSignal;
  /** Reports progress (any JSON value); becomes a `progress` event and shows in `get`. */
  progress(value: unknown): void;
  /**
   * Stores how far this payload got (any JSON value). Resolves once it is journalled (durably, on
   * Redis); rejects with `CANCELLED` if this attempt is already over. A later attempt — a retry, a
   * rerun after a timeout or a crash — receives it as `lastCheckpoint` and can resume from there.
   */
  checkpoint(value: unknown): Promise<void>;
  /** The value the last `checkpoint` of an earlier attempt stored; undefined if none. */
  readonly lastCheckpoint: unknown;
  readonly log: Logger;
  /** How each of the payload's dependencies ended, by id (empty without `dependsOn`). */
  readonly dependencies: DependencyOutcomes;
  /** For a handler with `batch`: the ids of the payloads in this call, in the order of the data array. */
  readonly batchIds?: readonly string[] | undefined;
}

export type Handler<D = unknown, R = unknown> = (data: D, ctx: HandlerContext) => R | Promise<R>;

export interface HandlerOptions {
  /** Most payloads of this type running at once, across partitions. Default: no limit beyond the pool. */
  readonly concurrency?: number;
  /** Timeout per attempt, ms. Default: the runtime's `handlerDefaults.timeout` (30 s). */
  readonly timeout?: number;
  /** Retries after the first attempt. Default: the runtime's `handlerDefaults.retries` (3). */
  readonly retries?: number;
  readonly backoff?: BackoffOptions;
  /** Errors for which retrying cannot help. `NonRetryableError` is always non-retryable. */
  readonly nonRetryable?: (error: unknown) => boolean;
  /**
   * Opt-in batching of low-tier payloads of this type: up to `max` run in one call, which receives
   * an array of their data (and `ctx.batchIds`) and may return one result per item, in order. A
   * batch goes when it is full or its oldest payload has waited `waitMs`. Payloads of other tiers
   * still run one by one, as an array of one. Default: no batching.
   */
  readonly batch?: { readonly max: number; readonly waitMs: number };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Writes warnings and errors to stderr as JSON lines; drops debug and info. */
export const stderrLogger: Logger = {
  debug() {},
  info() {},
  warn: (message, fields) => process.stderr.write(`${JSON.stringify({ level: 'warn', message, ...fields })}\n`),
  error: (message, fields) => process.stderr.write(`${JSON.stringify({ level: 'error', message, ...fields })}\n`),
};

export function scopedLogger(base: Logger, scope: Record<string, unknown>): Logger {
  return {
    debug: (m, f) => base.debug(m, { ...scope, ...f }),
    info: (m, f) => base.info(m, { ...scope, ...f }),
    warn: (m, f) => base.warn(m, { ...scope, ...f }),
    error: (m, f) => base.error(m, { ...scope, ...f }),
  };
}
