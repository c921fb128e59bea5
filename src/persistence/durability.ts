/**
 * A runtime's durability: the engine, the shared journal writer, snapshot bookkeeping and the
 * failure counters. Journal and snapshot failures are never swallowed: each is counted, logged,
 * and emitted (`journal-error`, `snapshot-error`); a journal failure also refuses the submits it
 * carried (see the partition actor).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.ts';
import { RuntimeStoppedError, StoreUnavailableError } from '../errors.ts';
import type { Logger } from '../execution/handlers.ts';
import type { JournalEntry, PersistenceEngine, Snapshot } from './engine.ts';
import { JournalWriter } from './journal-writer.ts';

export interface DurabilityStats {
  readonly durable: boolean;
  readonly available: boolean;
  readonly pendingWrites: number;
  readonly journalFailures: number;
  readonly snapshotsTaken: number;
  readonly snapshotFailures: number;
  /** Duration of the last snapshot write, ms. */
  readonly lastSnapshotMs: number | undefined;
}

export interface DurabilityEvents {
  'journal-error': [error: unknown];
  'snapshot-error': [error: unknown, key: string];
  available: [];
  unavailable: [];
}

/** Pause between attempts to reach a store that could not be reached (ioredis paces its own reconnects too). */
const CONNECT_RETRY_MS = 250;

export class Durability extends EventEmitter<DurabilityEvents> {
  readonly writer: JournalWriter;
  /** Why the store could not be reached at boot, while it cannot; undefined once connected. */
  private unreachableError: StoreUnavailableError | undefined;
  /** Ends a connection attempt that is under way (the runtime is stopping). */
  private abandonConnect: (() => void) | undefined;
  private closing = false;
  private journalFailures = 0;
  private snapshotsTaken = 0;
  private snapshotFailures = 0;
  private lastSnapshotMs: number | undefined;
  private readonly snapshotting = new Set<string>();

  constructor(
    readonly engine: PersistenceEngine,
    private readonly clock: Clock,
    private readonly logger: Logger,
    readonly snapshotEvery: number,
    private readonly ownsEngine: boolean,
    discard?: (error: unknown) => ((key: string) => boolean) | undefined,
  ) {
    super();
    this.writer = new JournalWriter(engine, clock, {
      discard,
      onError: (error) => {
        this.journalFailures++;
        this.logger.error('journal write failed; retrying', { error: String(error) });
        this.emit('journal-error', error);
      },
      onAvailabilityChange: (available) => {
        this.logger.warn(available ? 'store available again' : 'store unavailable: refusing new work', {});
        if (available) this.emit('available');
        else this.emit('unavailable');
      },
    });
  }

  get available(): boolean {
    return this.unreachableError === undefined && this.writer.available;
  }

  /** Why new work is refused now (the store is away), or undefined. */
  refusal(): StoreUnavailableError | undefined {
    return this.available ? undefined : this.unreachableError ?? new StoreUnavailableError();
  }

  /** Why the store could not be reached at boot, while that lasts. */
  get unreachable(): StoreUnavailableError | undefined {
    return this.unreachableError;
  }

  /**
   * Connects the engine. While it cannot be reached the store counts as unavailable, `onAway` is
   * told after every failed attempt (so callers are answered at once instead of waiting), and the
   * attempts go on until the store answers — or until `close`, which rejects with RuntimeStoppedError.
   */
  async connect(onAway: (error: StoreUnavailableError) => void): Promise<void> {
    const abandoned = new Promise<never>((_, reject) => {
      this.abandonConnect = () => reject(new RuntimeStoppedError());
    });
    try {
      for (;;) {
        if (this.closing) throw new RuntimeStoppedError();
        try {
          await Promise.race([this.engine.connect(), abandoned]);
          break;
        } catch (error) {
          if (this.closing) throw new RuntimeStoppedError();
          if (this.unreachableError === undefined) {
            this.logger.warn('store unreachable: refusing work, trying again', { error: String(error) });
            this.unreachableError = new StoreUnavailableError(error);
            this.emit('unavailable');
          } else {
            this.unreachableError = new StoreUnavailableError(error);
          }
          onAway(this.unreachableError);
          await Promise.race([new Promise((resolve) => setTimeout(resolve, CONNECT_RETRY_MS)), abandoned]);
        }
      }
    } finally {
      this.abandonConnect = undefined;
    }
    if (this.unreachableError !== undefined) {
      this.unreachableError = undefined;
      this.logger.warn('store reachable again', {});
      this.emit('available');
    }
  }

  /**
   * Runs the boot's reads (`read` only reads, so it may run again) until they succeed: a read that
   * failed while the store's connection was down waits for it to come back (as `connect` does,
   * refusing callers meanwhile) and reads again. Any other failure (a snapshot that does not decode)
   * is for good.
   */
  async readAtBoot<T>(read: () => Promise<T>, onAway: (error: StoreUnavailableError) => void): Promise<T> {
    for (;;) {
      try {
        return await read();
      } catch (error) {
        if (this.closing) throw new RuntimeStoppedError();
        if (this.engine.connected?.() !== false) throw error;
        this.logger.warn('the store went away while the boot read its state: reading again once it is back', { error: String(error) });
        await this.connect(onAway);
      }
    }
  }

  stats(): DurabilityStats {
    return {
      durable: this.engine.durable,
      available: this.available,
      pendingWrites: this.writer.pending,
      journalFailures: this.journalFailures,
      snapshotsTaken: this.snapshotsTaken,
      snapshotFailures: this.snapshotFailures,
      lastSnapshotMs: this.lastSnapshotMs,
    };
  }

  /** The latest snapshot of `key` and the journal entries after it. */
  async load(key: string): Promise<{ snapshot: Snapshot | undefined; entries: JournalEntry[] }> {
    const snapshot = await this.engine.latestSnapshot(key);
    const entries = await this.engine.events(key, snapshot?.seq ?? 0);
    return { snapshot, entries };
  }

  /** Stores a snapshot in the background; one at a time per key (a newer one waits for the next turn). */
  snapshot(key: string, seq: number, version: number, data: unknown): void {
    if (this.snapshotting.has(key)) return;
    this.store(key, seq, version, data).catch(() => {}); // reported by store(): counted, logged, emitted
  }

  /** Stores a snapshot now; resolves when stored (failures are reported, then rethrown). */
  store(key: string, seq: number, version: number, data: unknown): Promise<void> {
    this.snapshotting.add(key);
    const started = this.clock.now();
    return this.engine.takeSnapshot({ key, seq, version, data }).then(
      () => {
        this.snapshotsTaken++;
        this.lastSnapshotMs = this.clock.now() - started;
      },
      (error: unknown) => {
        this.snapshotFailures++;
        this.logger.error('snapshot failed; the journal keeps everything until the next one', { key, error: String(error) });
        this.emit('snapshot-error', error, key);
        throw error;
      },
    ).finally(() => this.snapshotting.delete(key));
  }

  /** Gives up connecting: `connect` rejects with RuntimeStoppedError (a connection already made stays). */
  abandonConnecting(): void {
    this.closing = true;
    this.abandonConnect?.();
  }

  async close(): Promise<void> {
    this.abandonConnecting();
    this.writer.close();
    if (this.ownsEngine) await this.engine.close();
  }
}
