/**
 * A start throttle: a token bucket refilled at `perSecond`, holding at most `burst` tokens (by
 * default 1/20 s of them, at least one), so starts are spread through the second instead of
 * bursting at its start. Changeable at any time; time comes from the caller (the injected clock).
 */
export class StartThrottle {
  private rate: number | undefined;
  private tokens = 0;
  private at = 0;
  private burstSize: number | undefined;

  constructor(perSecond: number | undefined, now: number, burst?: number) {
    this.set(perSecond, now, burst);
  }

  /** `undefined` lifts the limit; 0 stops starts altogether. */
  set(perSecond: number | undefined, now: number, burst?: number): void {
    if (perSecond !== undefined && this.rate !== undefined) this.available(now); // what accrued at the old rate is kept
    this.rate = perSecond;
    this.burstSize = burst;
    this.at = now;
    // One start may go at once (unless stopped); unused tokens carry over up to the new burst.
    this.tokens = perSecond === undefined || perSecond === 0 ? 0 : Math.min(Math.max(this.tokens, 1), this.burst);
  }

  get perSecond(): number | undefined {
    return this.rate;
  }

  /** Starts allowed now. */
  available(now: number): number {
    if (this.rate === undefined) return Number.POSITIVE_INFINITY;
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
      this.at = now;
    }
    return Math.floor(this.tokens);
  }

  /** Fills the bucket (a limit that has been quiet: all of its burst may go at once). */
  fill(): void {
    if (this.rate !== undefined && this.rate > 0) this.tokens = this.burst;
  }

  take(n: number): void {
    if (this.rate !== undefined) this.tokens -= n;
  }

  /** When the next start is allowed (undefined: never, with a rate of 0). */
  nextAt(now: number): number | undefined {
    if (this.rate === undefined) return now;
    if (this.rate === 0) return undefined;
    return now + Math.max(1, Math.ceil(((1 - (this.tokens % 1)) * 1000) / this.rate));
  }

  /** Whether the bucket holds all it can (a quiet limit: nothing to remember about it). */
  full(now: number): boolean {
    return this.rate === undefined || this.available(now) >= Math.floor(this.burst);
  }

  private get burst(): number {
    return this.burstSize ?? Math.max(1, (this.rate ?? 0) / 20);
  }
}
