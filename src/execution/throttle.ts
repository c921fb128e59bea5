/**
 * A start throttle: a token bucket refilled at `perSecond`, holding at most 1/20 s of tokens (at
 * least one), so starts are spread through the second instead of bursting at its start. Changeable
 * at any time; time comes from the caller (the injected clock).
 */
export class StartThrottle {
  private rate: number | undefined;
  private tokens = 0;
  private at = 0;

  constructor(perSecond: number | undefined, now: number) {
    this.set(perSecond, now);
  }

  /** `undefined` lifts the limit; 0 stops starts altogether. */
  set(perSecond: number | undefined, now: number): void {
    this.rate = perSecond;
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

  take(n: number): void {
    if (this.rate !== undefined) this.tokens -= n;
  }

  /** When the next start is allowed (undefined: never, with a rate of 0). */
  nextAt(now: number): number | undefined {
    if (this.rate === undefined) return now;
    if (this.rate === 0) return undefined;
    return now + Math.max(1, Math.ceil(((1 - (this.tokens % 1)) * 1000) / this.rate));
  }

  private get burst(): number {
    return Math.max(1, (this.rate ?? 0) / 20);
  }
}
