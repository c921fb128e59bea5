/**
 * How much engine work one turn of the event loop may hold, shared by every actor's drain and every
 * sliced batch (`submitMany`) of a runtime. Bounding each of them alone is not enough: each drain is
 * an immediate of its own, and Node runs every immediate queued before a check phase in that one
 * phase, so sixteen partitions draining 5 ms each could make one 80 ms turn. One budget per turn bounds
 * their sum. Work that finds it spent waits for the next turn; the next turn starts with what got
 * no time at all, then what yielded after using some, in the order they yielded, so one busy actor
 * cannot starve the others.
 */

/** Engine work per turn of the event loop, ms. */
export const TURN_BUDGET_MS = 3;

export class TurnBudget {
  /** `performance.now()` when this turn's first engine work began; -1 between turns. */
  private openedAt = -1;
  private starved: Array<() => void> = [];
  private yielded: Array<() => void> = [];

  /** `onError`: what becomes of a resume that throws (by default it surfaces as uncaught, after the others ran). */
  constructor(
    private readonly ms = TURN_BUDGET_MS,
    private readonly onError: (error: unknown) => void = (error) => queueMicrotask(() => {
      throw error;
    }),
  ) {}

  /** Whether this turn has time left for engine work; the first ask of a turn starts its clock. */
  hasTime(): boolean {
    const now = performance.now();
    if (this.openedAt < 0) {
      this.open(now);
      return true;
    }
    return now - this.openedAt < this.ms;
  }

  /**
   * Runs `resume` at the start of the next turn, among the work that got no time in this one: for
   * engine work asked for from a caller's turn (a `submitMany`), which is the caller's, not the engine's.
   */
  startNextTurn(resume: () => void): void {
    if (this.openedAt < 0) this.open(performance.now());
    this.starved.push(resume);
  }

  /** Resolves at the start of the next turn, among the work that got no time in this one (for async work that yields). */
  turnAfter(): Promise<void> {
    return new Promise((resolve) => this.startNextTurn(resolve));
  }

  private open(now: number): void {
    this.openedAt = now;
    // Queued now, so it runs early in the next check phase: before the work that yields after it.
    setImmediate(this.nextTurn);
  }

  /** Runs `resume` at the start of the next turn. `ranNow`: it did some work in this one (it then goes after those that did none). */
  defer(resume: () => void, ranNow: boolean): void {
    (ranNow ? this.yielded : this.starved).push(resume);
  }

  /** Work waiting for the next turn. */
  get waiting(): number {
    return this.starved.length + this.yielded.length;
  }

  private readonly nextTurn = (): void => {
    this.openedAt = -1;
    const resumes = this.starved.length === 0 ? this.yielded : this.starved.concat(this.yielded);
    this.starved = [];
    this.yielded = [];
    for (const resume of resumes) {
      try {
        resume();
      } catch (error) {
        // One failing resume must not strand the others.
        this.onError(error);
      }
    }
  };
}
