/**
 * A runtime's durability: the engine, the shared journal writer, snapshot bookkeeping and the
 * failure counters. Journal and snapshot failures are never swallowed: each is counted, logged,
 * and emitted (`journal-error`, `snapshot-error`); a journal failure also refuses the submits it
 * carried (see the partition actor).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.ts';
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

export class Durability extends EventEmitter<DurabilityEvents> {
  readonly writer: JournalWriter;
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
    return this.writer.available;
  }

  stats(): DurabilityStats {
    return {
      durable: this.engine.durable,
      available: this.writer.available,
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

  async close(): Promise<void> {
    this.writer.close();
    if (this.ownsEngine) await this.engine.close();
  }
}
