/**
 * The embedded default: journal and snapshots in this process's memory. Same semantics as the
 * Redis engine (ordering, trimming, stale-snapshot refusal); nothing survives the process.
 */
import type { JournalEntry, PersistenceEngine, Snapshot } from './engine.ts';

export class MemoryEngine implements PersistenceEngine {
  readonly durable = false;
  private readonly journals = new Map<string, JournalEntry[]>();
  private readonly snapshots = new Map<string, Snapshot>();

  /** Highest seq ever appended per key (survives trimming, like a stream's last id). */
  private readonly lastSeq = new Map<string, number>();

  async persist(entries: readonly JournalEntry[]): Promise<void> {
    const last = new Map<string, number>();
    for (const entry of entries) {
      const before = last.get(entry.key) ?? this.lastSeq.get(entry.key) ?? 0;
      if (entry.seq <= before) continue;
      if (before > 0 && entry.seq !== before + 1) throw new Error(`TRIAGE_GAP ${before} ${entry.seq}`);
      last.set(entry.key, entry.seq);
    }
    for (const entry of entries) {
      if (entry.seq <= (this.lastSeq.get(entry.key) ?? 0)) continue;
      let journal = this.journals.get(entry.key);
      if (!journal) this.journals.set(entry.key, (journal = []));
      journal.push(entry);
      this.lastSeq.set(entry.key, entry.seq);
    }
  }

  async events(key: string, afterSeq: number): Promise<JournalEntry[]> {
    return (this.journals.get(key) ?? []).filter((e) => e.seq > afterSeq);
  }

  async latestSnapshot(key: string): Promise<Snapshot | undefined> {
    return this.snapshots.get(key);
  }

  async takeSnapshot(snapshot: Snapshot): Promise<boolean> {
    const current = this.snapshots.get(snapshot.key);
    if (current && current.seq >= snapshot.seq) return false;
    this.snapshots.set(snapshot.key, snapshot);
    const journal = this.journals.get(snapshot.key);
    if (journal) this.journals.set(snapshot.key, journal.filter((e) => e.seq > snapshot.seq));
    return true;
  }

  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  /** Journal length of one key, for tests and the admin view. */
  journalLength(key: string): number {
    return this.journals.get(key)?.length ?? 0;
  }
}
