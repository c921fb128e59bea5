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

export class JournalWriter {
  private queue: PendingWrite[] = [];
  private readonly reportedFailure = new WeakSet<PendingWrite>();
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
    return this.queue.length;
  }

  append(write: PendingWrite): void {
    this.queue.push(write);
    this.schedule();
  }

  /** Resolves once everything appended so far is stored (or the writer is closed). */
  whenFlushed(): Promise<void> {
    if (this.queue.length === 0 && !this.flushing) return Promise.resolve();
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
    // actor's: one pipeline then carries the whole turn's entries. A socket write costs ~100 µs
    // here whatever its size, so fewer, larger ones measured ~1.5 µs less CPU per durable payload.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const batch = this.queue.slice();
    try {
      await this.engine.persist(batch.map((w) => w.entry));
      this.queue.splice(0, batch.length);
      this.retryDelay = 0;
      this.setAvailable(true);
      for (const write of batch) write.durable();
    } catch (error) {
      const doomed = this.hooks.discard?.(error);
      if (doomed) {
        this.queue = this.queue.filter((write) => {
          if (!doomed(write.entry.key)) return true;
          if (!this.reportedFailure.has(write)) write.failed(error);
          return false;
        });
        return;
      }
      this.hooks.onError(error);
      this.setAvailable(false);
      for (const write of batch) {
        if (this.reportedFailure.has(write)) continue;
        this.reportedFailure.add(write);
        write.failed(error);
      }
      this.retryDelay = Math.min(this.retry.maxMs, Math.max(this.retry.initialMs, this.retryDelay * 2));
      if (!this.closed) this.retryTimer = this.clock.setTimer(this.retryDelay, () => {
        this.retryTimer = undefined;
        this.schedule();
      });
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.schedule();
      else this.wakeIdle();
    }
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
