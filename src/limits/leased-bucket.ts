/**
 * A bucket of starts leased from a cluster-wide bucket (src/cluster/rate-leases.ts): the node asks
 * for about 100 ms of the rate at a time, when its pool wants starts and half of the last lease is
 * spent, and spends the tokens locally. Tokens not spent within a second are dropped, so a node
 * that went quiet does not sit on the cluster's starts. A lease that arrives (or a refill the bucket
 * says is due) wakes the pool, which then asks again. A node refused waits until the next token is
 * due and a random part of that again: nodes refused together would otherwise all ask at the same
 * instant, and the one whose request reaches Redis first (always the same, on a fast machine) would
 * take every token.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { StartBucket } from './scope-state.ts';

export interface RateLeaser {
  lease(scope: string, perSecond: number, burst: number, want: number): Promise<{ readonly granted: number; readonly waitMs: number }>;
}

/** Of the rate, how much one lease asks for, ms. */
const LEASE_SPAN_MS = 100;
/** How long leased tokens may be spent, ms. */
const LEASE_TTL_MS = 1_000;
/** After a failed lease, ms. */
const RETRY_MS = 100;

export class LeasedBucket implements StartBucket {
  private tokens = 0;
  private leasedAt = Number.NEGATIVE_INFINITY;
  private asking = false;
  private retry: TimerHandle | undefined;
  private burst = 1;

  constructor(
    private readonly scope: string,
    private rate: number,
    burst: number | undefined,
    private readonly leaser: RateLeaser,
    private readonly clock: Clock,
    /** Tokens arrived, or the cluster's bucket may have some now: the pool should ask again. */
    private readonly changed: () => void,
    private readonly failed: (error: unknown) => void,
    private readonly random: () => number = Math.random,
  ) {
    this.set(rate, clock.now(), burst);
  }

  set(perSecond: number, _now: number, burst?: number): void {
    this.rate = perSecond;
    this.burst = burst ?? Math.max(1, perSecond / 20);
  }

  available(now: number): number {
    if (now - this.leasedAt > LEASE_TTL_MS) this.tokens = 0;
    if (this.tokens < this.want / 2) this.ask();
    return Math.max(0, Math.floor(this.tokens));
  }

  take(n: number): void {
    this.tokens -= n;
  }

  nextAt(): number | undefined {
    return undefined; // a lease arriving wakes the pool
  }

  full(): boolean {
    return true; // its state is the cluster's: nothing to keep here
  }

  dispose(): void {
    this.retry?.cancel();
    this.retry = undefined;
  }

  private get want(): number {
    return Math.max(1, Math.min(Math.floor(this.burst), Math.ceil((this.rate * LEASE_SPAN_MS) / 1000)));
  }

  private ask(): void {
    if (this.asking || this.retry || this.rate <= 0) return;
    this.asking = true;
    this.leaser.lease(this.scope, this.rate, this.burst, this.want).then(
      ({ granted, waitMs }) => {
        this.asking = false;
        const now = this.clock.now();
        if (granted > 0) {
          this.tokens = (now - this.leasedAt > LEASE_TTL_MS ? 0 : Math.max(0, this.tokens)) + granted;
          this.leasedAt = now;
          this.changed();
        }
        if (granted < this.want) this.retryIn(Math.max(1, waitMs) * (1 + this.random() / 2));
      },
      (error: unknown) => {
        this.asking = false;
        this.failed(error);
        this.retryIn(RETRY_MS);
      },
    );
  }

  private retryIn(ms: number): void {
    this.retry = this.clock.setTimer(ms, () => {
      this.retry = undefined;
      this.changed();
    });
  }
}
