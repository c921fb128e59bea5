/**
 * Persistence engines: the four operations an actor's durability needs (after nact's engine
 * contract): append journal entries, read them back, read the latest snapshot, take a snapshot.
 * Every engine has the same semantics; a shared contract suite runs against each.
 */

/** One journalled state change of the actor named by `key`. `seq` increases by one per entry. */
export interface JournalEntry<T = unknown> {
  readonly key: string;
  readonly seq: number;
  readonly data: T;
  /**
   * Messages for other partitions' inboxes, stored in the same atomic step as the entry (payloads a
   * partition hands to one on another node). Only a clustered runtime's engine takes them.
   */
  readonly outbox?: readonly OutboxMessage[];
}

export interface OutboxMessage {
  readonly partition: number;
  readonly data: unknown;
}

/** The actor's whole state as of journal entry `seq` (entries ≤ seq are no longer needed). */
export interface Snapshot<T = unknown> {
  readonly key: string;
  readonly seq: number;
  /** Version of the snapshot encoding, so a decoder can refuse or upgrade old shapes. */
  readonly version: number;
  readonly data: T;
}

export interface PersistenceEngine {
  /** True when what it stores outlives the process. */
  readonly durable: boolean;
  /** Resolves once the store can take writes (the runtime awaits it before recovery). */
  connect(): Promise<void>;
  /**
   * False while the connection to the store is down (a read that failed then may succeed once it is
   * back). An engine without it is taken to be always connected: its failures are not waited out.
   */
  connected?(): boolean;
  /**
   * Appends entries (each key's entries in increasing `seq`, without gaps). Resolves once the store
   * has acknowledged every one of them; a rejection means some may not be stored. Entries at or
   * below the last stored `seq` of their key are skipped, so retrying a batch is always safe.
   */
  persist(entries: readonly JournalEntry[]): Promise<void>;
  /** The entries of `key` with `seq > afterSeq`, in order. */
  events(key: string, afterSeq: number): Promise<JournalEntry[]>;
  latestSnapshot(key: string): Promise<Snapshot | undefined>;
  /**
   * Stores the snapshot if it is newer than the stored one and drops the journal entries it
   * covers, atomically. Resolves false when a newer snapshot was already stored.
   */
  takeSnapshot(snapshot: Snapshot): Promise<boolean>;
  close(): Promise<void>;
}
