/**
 * Snapshots without a journal, for actors whose state is mostly measurements that are stale after a
 * restart anyway (the coordinator's signals, the complexity analyzer's averages): the state is
 * offered after each message and stored at most every `intervalMs`. An urgent offer (an operator's
 * pin, release or throttle) is stored at once, or as soon as the snapshot in flight is done, so
 * what an operator decided survives a crash.
 */
import type { Clock } from '../clock.ts';
import type { SnapshotStore } from './actor-journal.ts';

export interface PeriodicSnapshotOptions<S> {
  readonly key: string;
  readonly snapshots: SnapshotStore;
  readonly clock: Clock;
  readonly intervalMs: number;
  /** Seq of the snapshot recovery read (each new one takes the next). */
  readonly seq: number;
  /** The state as recovered: nothing to store until it changes. */
  readonly initial: S;
  encode(state: S): { version: number; data: unknown };
}

export class PeriodicSnapshot<S> {
  private seq: number;
  private latest: S;
  private saved: S;
  private inFlight: Promise<void> | undefined;
  private urgent = false;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: PeriodicSnapshotOptions<S>) {
    this.seq = options.seq;
    this.latest = options.initial;
    this.saved = options.initial;
  }

  offer(state: S, urgent = false): void {
    this.latest = state;
    if (urgent) this.urgent = true;
    if (this.inFlight) return; // an urgent one follows it (see flush)
    if (this.urgent || this.options.clock.now() - this.lastAt >= this.options.intervalMs) void this.flush();
  }

  /** Stores the latest state if it changed; resolves once it is stored (failures are reported by the store). */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.latest === this.saved) return;
    const state = this.latest;
    this.urgent = false;
    this.lastAt = this.options.clock.now();
    const { version, data } = this.options.encode(state);
    this.inFlight = this.options.snapshots.store(this.options.key, ++this.seq, version, data).then(
      () => void (this.saved = state),
      () => {}, // counted, logged and emitted by the store; the next offer after the interval tries again
    ).finally(() => {
      this.inFlight = undefined;
      if (this.urgent && this.latest !== this.saved) void this.flush();
    });
    await this.inFlight;
  }
}
