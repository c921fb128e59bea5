/**
 * Group commit for every actor of a runtime: entries appended during one turn of the event loop go
 * to the engine in one `persist` call (one Redis pipeline), sent at the end of that turn, one batch
 * in flight at a time so each key's entries stay in order. A failed batch is retried with backoff until the store takes it;
 * meanwhile the writer reports itself unavailable, so new work is refused instead of half-accepted.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { JournalEntry, PersistenceEngine } from './engine.ts';

export interface PendingWrite {
  readonly entry: JournalEntry;
  /** The store acknowledged the entry. Called once, in append order. */
  durable(): void;
  /** The first attempt to store the entry failed (it stays queued and is retried). */
  failed(error: unknown): void;
}

/**
 * Where the outcome of an actor's entries goes: one long-lived object per actor instead of a pair
 * of closures per entry, told once per stored batch instead of once per entry.
 */
export interface JournalSink {
  /** Every entry of this sink up to `seq` is stored. Once per batch that held its entries, with its last seq. */
  stored(seq: number): void;
  /** The first attempt to store the entry `seq` failed (it stays queued and is retried). */
  failed(seq: number, error: unknown): void;
}

export interface JournalWriterHooks {
  onError(error: unknown): void;
  onAvailabilityChange(available: boolean): void;
  /**
   * For an error that no retry can cure for some keys (a partition fenced off by its new owner),
   * which keys: their writes are dropped (reported through `failed`), the rest are retried at once,
   * and the store does not count as unavailable.
   */
  discard?(error: unknown): ((key: string) => boolean) | undefined;
}

/** The most turns of the event loop a send waits while entries keep coming (measured: 4 doubles a pipeline's payloads). */
const FLUSH_TURNS = 4;

export class JournalWriter {
  /** Entries not yet stored, in append order, and the sink of each. */
  private entries: JournalEntry[] = [];
  private sinks: JournalSink[] = [];
  /** How many entries at the head of the queue were already reported failed (only the first failure of an entry is). */
  private reported = 0;
  private flushing = false;
  private scheduled = false;
  private retryTimer: TimerHandle | undefined;
  private retryDelay = 0;
  private isAvailable = true;
  private idleWaiters: Array<() => void> = [];
  /** After close, a batch that was in flight and failed is not retried (nothing may keep the process alive). */
  private closed = false;

  constructor(
    private readonly engine: PersistenceEngine,
    private readonly clock: Clock,
    private readonly hooks: JournalWriterHooks,
    private readonly retry = { initialMs: 50, maxMs: 2_000 },
  ) {}

  get available(): boolean {
    return this.isAvailable;
  }

  get pending(): number {
    return this.entries.length;
  }

  /** Appends one entry whose outcome goes to its own callbacks. */
  append(write: PendingWrite): void {
    this.write(write.entry, { stored: () => write.durable(), failed: (_, error) => write.failed(error) });
  }

  /** Appends one entry of `sink`'s; a sink's entries must be written in increasing seq. */
  write(entry: JournalEntry, sink: JournalSink): void {
    this.entries.push(entry);
    this.sinks.push(sink);
    this.schedule();
  }

  /** Resolves once everything appended so far is stored (or the writer is closed). */
  whenFlushed(): Promise<void> {
    if (this.entries.length === 0 && !this.flushing) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.wakeIdle();
  }

  private schedule(): void {
    if (this.closed || this.scheduled || this.flushing || this.retryTimer) return;
    this.scheduled = true;
    // After the loop's other ready work (every actor's drain of this turn), not after the first
    // actor's: one pipeline then carries the whole turn's entries. A round trip costs this process
    // ~80 µs of CPU here whatever its size, so fewer, larger pipelines cost less per payload.
    // What a stored batch releases (runs, their outcomes, the next transitions) takes a few turns
    // to come back as entries, so the send waits while each turn brings more, up to FLUSH_TURNS.
    let turns = 0;
    let seen = this.entries.length;
    const turn = (): void => {
      if (++turns < FLUSH_TURNS && this.entries.length > seen) {
        seen = this.entries.length;
        setImmediate(turn);
        return;
      }
      this.scheduled = false;
      void this.flush();
    };
    setImmediate(turn);
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.entries.length === 0) return;
    this.flushing = true;
    const count = this.entries.length;
    try {
      await this.engine.persist(this.entries.slice(0, count));
      const entries = this.entries.splice(0, count);
      const sinks = this.sinks.splice(0, count);
      this.reported = Math.max(0, this.reported - count);
      this.retryDelay = 0;
      this.setAvailable(true);
      // Each sink hears once, with its last seq: what a stored entry releases is done per batch.
      const last = new Map<JournalSink, number>();
      for (let i = 0; i < count; i++) last.set(sinks[i] as JournalSink, (entries[i] as JournalEntry).seq);
      for (const [sink, seq] of last) sink.stored(seq);
    } catch (error) {
      const doomed = this.hooks.discard?.(error);
      if (doomed) {
        this.dropWhere(doomed, error);
        return;
      }
      this.hooks.onError(error);
      this.setAvailable(false);
      for (let i = this.reported; i < count; i++) (this.sinks[i] as JournalSink).failed((this.entries[i] as JournalEntry).seq, error);
      this.reported = Math.max(this.reported, count);
      this.retryDelay = Math.min(this.retry.maxMs, Math.max(this.retry.initialMs, this.retryDelay * 2));
      if (!this.closed) this.retryTimer = this.clock.setTimer(this.retryDelay, () => {
        this.retryTimer = undefined;
        this.schedule();
      });
    } finally {
      this.flushing = false;
      if (this.entries.length > 0) this.schedule();
      else this.wakeIdle();
    }
  }

  /** Drops the queued entries of the doomed keys, reporting those not reported yet; the rest stay in order. */
  private dropWhere(doomed: (key: string) => boolean, error: unknown): void {
    const entries: JournalEntry[] = [];
    const sinks: JournalSink[] = [];
    let reported = 0;
    for (let i = 0; i < this.entries.length; i++) {
      const entry = this.entries[i] as JournalEntry;
      const sink = this.sinks[i] as JournalSink;
      if (doomed(entry.key)) {
        if (i >= this.reported) sink.failed(entry.seq, error);
        continue;
      }
      if (i < this.reported) reported++;
      entries.push(entry);
      sinks.push(sink);
    }
    this.entries = entries;
    this.sinks = sinks;
    this.reported = reported;
  }

  private setAvailable(available: boolean): void {
    if (this.isAvailable === available) return;
    this.isAvailable = available;
    this.hooks.onAvailabilityChange(available);
  }

  private wakeIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
