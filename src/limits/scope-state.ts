/**
 * One limited scope's live state: what runs in it, its bucket of starts, and the partitions waiting
 * for it to have room. The bucket is this process's own (`StartThrottle`), or, for the global and
 * per-type rates of a cluster, a share leased from the cluster's bucket in Redis (leased-bucket.ts).
 */
import { StartThrottle } from '../execution/throttle.ts';
import type { Limit } from './rules.ts';

/** A limit's scope as it is named in views and metrics: `global`, `type:<t>`, `client:<id>`, `key:<k>`. */
export type LimitScope = string;

/** What the gate asks of a bucket of starts. */
export interface StartBucket {
  set(perSecond: number, now: number, burst?: number): void;
  /** Starts allowed now. */
  available(now: number): number;
  take(n: number): void;
  /** When the next start is allowed, if the bucket itself can say (a leased one says so by waking the pool). */
  nextAt(now: number): number | undefined;
  /** Whether it holds all it can (a quiet limit: nothing to remember about it). */
  full(now: number): boolean;
}

/** Makes the bucket of a scope with a rate; a scope seen for the first time starts full. */
export type BucketFactory = (scope: LimitScope, perSecond: number, now: number, burst: number | undefined) => StartBucket;

export const localBucket: BucketFactory = (_, perSecond, now, burst) => {
  const bucket = new StartThrottle(perSecond, now, burst);
  bucket.fill();
  return bucket;
};

export class ScopeState {
  running = 0;
  bucket: StartBucket | undefined;
  /** Partitions holding payloads on this scope, to wake when it has room. */
  waiters: Set<number> | undefined;

  constructor(readonly name: LimitScope, public limit: Limit | undefined, now: number, private readonly makeBucket: BucketFactory) {
    this.setLimit(limit, now);
  }

  setLimit(limit: Limit | undefined, now: number): void {
    this.limit = limit;
    const rate = limit?.perSecond;
    if (rate === undefined) this.bucket = undefined;
    else if (this.bucket) this.bucket.set(rate, now, limit?.burst);
    else this.bucket = this.makeBucket(this.name, rate, now, limit?.burst);
  }

  /** Makes its bucket afresh (the process joined a cluster: its rates are the cluster's from now on). */
  rebuild(now: number): void {
    this.bucket = undefined;
    this.setLimit(this.limit, now);
  }

  /** Nothing here is worth keeping: no limit holds anything on it and its bucket is full (or absent). */
  idle(now: number): boolean {
    return this.running === 0 && (this.waiters === undefined || this.waiters.size === 0) && (this.bucket === undefined || this.bucket.full(now));
  }
}
