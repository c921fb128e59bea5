/**
 * The Redis engine behind partition leases: a partition's journal appends and snapshots go through
 * scripts that first check the writer's fencing token against the partition's lease, in the same
 * atomic step. A node that lost its lease (paused, cut off) and wakes up to write is refused by Redis
 * itself, whatever it believes. Keys that are not partitions, and partitions with no fence set, are
 * written as RedisEngine writes them.
 */
import type { Redis } from 'ioredis';
import { TriageError } from '../errors.ts';
import type { JournalEntry, OutboxMessage, PersistenceEngine, Snapshot } from '../persistence/engine.ts';
import { appendArgsByKey, type RedisEngine } from '../persistence/redis.ts';
import { APPEND, TAKE_SNAPSHOT, TAKE_SNAPSHOT_STORED } from '../persistence/scripts.ts';
import { clusterKeys, partitionOfKey, type ClusterKeys } from './keys.ts';
import { FENCED_APPEND, FENCED_ERROR, FENCED_TAKE_SNAPSHOT, FENCED_TRANSFER } from './scripts.ts';

type Run = { readonly outbox?: undefined; readonly entries: JournalEntry[] } | { readonly outbox: readonly OutboxMessage[]; readonly entry: JournalEntry };

/** One key's entries in order, split where an entry carries an outbox. */
function runsOf(entries: readonly JournalEntry[]): Run[] {
  const runs: Run[] = [];
  let plain: JournalEntry[] = [];
  for (const entry of entries) {
    if (!entry.outbox?.length) {
      plain.push(entry);
      continue;
    }
    if (plain.length > 0) runs.push({ entries: plain });
    plain = [];
    runs.push({ outbox: entry.outbox, entry });
  }
  if (plain.length > 0) runs.push({ entries: plain });
  return runs;
}

/** A write for a partition whose lease has passed to a newer token; nothing of it was stored. */
export class FencedError extends TriageError {
  constructor(
    readonly partition: number,
    /** The token the lease has now (0 when it expired and no node took it since). */
    readonly currentToken: number,
    /** The token the write carried (0: none was set, with `requireFence`). */
    readonly token: number,
  ) {
    const why = token === 0 ? 'this node holds no fencing token for it' : `lease token is ${currentToken}, the write carried ${token}`;
    super('FENCED', `partition ${partition} is fenced: ${why}`);
  }
}

export interface FencedRedisEngineOptions {
  /**
   * Refuse (FencedError with token 0) writes for a partition that has no fence set, instead of writing
   * them unfenced. A clustered runtime should set it: a node without a fence does not own the partition.
   */
  readonly requireFence?: boolean;
}

type FencedRedis = Redis & {
  triageClusterTakeSnapshot(snapshotKey: string, journalKey: string, seq: string, body: string): Promise<number>;
  triageFencedTakeSnapshot(snapshotKey: string, journalKey: string, leaseKey: string, token: string, seq: string, body: string): Promise<number>;
};
type FencedPipeline = ReturnType<Redis['pipeline']> & {
  triageClusterAppend(journalKey: string, snapshotKey: string, ...seqAndBodies: string[]): unknown;
  triageFencedAppend(journalKey: string, leaseKey: string, snapshotKey: string, token: string, ...seqAndBodies: string[]): unknown;
  triageFencedTransfer(journalKey: string, leaseKey: string, snapshotKey: string, inboxKey: string, token: string, message: string, seq: string, body: string): unknown;
};

export class FencedRedisEngine implements PersistenceEngine {
  readonly durable = true;
  readonly keys: ClusterKeys;
  private readonly client: FencedRedis;
  private readonly fences = new Map<number, number>();
  /** Whether writes for a partition with no fence are refused (see FencedRedisEngineOptions). */
  readonly requireFence: boolean;

  constructor(readonly inner: RedisEngine, options: FencedRedisEngineOptions = {}) {
    this.keys = clusterKeys(inner.keys.prefix);
    this.requireFence = options.requireFence ?? false;
    const client = inner.connection;
    // Own command names, so this engine does not depend on how RedisEngine names its scripts.
    client.defineCommand('triageClusterAppend', { numberOfKeys: 2, lua: APPEND });
    client.defineCommand('triageClusterTakeSnapshot', { numberOfKeys: 2, lua: TAKE_SNAPSHOT });
    client.defineCommand('triageFencedAppend', { numberOfKeys: 3, lua: FENCED_APPEND });
    client.defineCommand('triageFencedTakeSnapshot', { numberOfKeys: 3, lua: FENCED_TAKE_SNAPSHOT });
    client.defineCommand('triageFencedTransfer', { numberOfKeys: 4, lua: FENCED_TRANSFER });
    this.client = client as FencedRedis;
  }

  /** From now on, writes for `partition` carry `token` and are refused once the lease has another. */
  setFence(partition: number, token: number): void {
    if (!Number.isSafeInteger(token) || token < 1) throw new Error(`fencing token must be a whole number ≥ 1, got ${token}`);
    this.fences.set(partition, token);
  }

  clearFence(partition: number): void {
    this.fences.delete(partition);
  }

  fenceOf(partition: number): number | undefined {
    return this.fences.get(partition);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  async persist(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const byKey = new Map<string, JournalEntry[]>();
    for (const entry of entries) {
      const list = byKey.get(entry.key);
      if (list) list.push(entry);
      else byKey.set(entry.key, [entry]);
    }
    // Refused before anything is sent, so a batch for an unowned partition stores nothing at all.
    for (const key of byKey.keys()) this.fenceFor(key);
    const pipeline = this.client.pipeline() as FencedPipeline;
    const partitions: (number | undefined)[] = [];
    for (const [key, list] of byKey) {
      const fence = this.fenceFor(key);
      const journal = this.keys.persistence.journal(key);
      const snapshot = this.keys.persistence.snapshot(key);
      // A key's entries go in order: runs of plain entries in one append each, and an entry that
      // hands payloads to another partition in a transfer of its own (journal entry + inbox message).
      for (const run of runsOf(list)) {
        if (run.outbox) {
          if (!fence) throw new Error(`journal entry ${key}#${run.entry.seq} hands payloads to another partition, but ${key} is not a fenced partition`);
          for (const message of run.outbox) {
            pipeline.triageFencedTransfer(journal, this.keys.partitionLease(fence.partition).lease, snapshot, this.keys.inbox(message.partition),
              String(fence.token), JSON.stringify(message.data), String(run.entry.seq), JSON.stringify(run.entry.data));
            partitions.push(fence.partition);
          }
          continue;
        }
        const args = appendArgsByKey(run.entries).get(key) ?? [];
        if (fence) pipeline.triageFencedAppend(journal, this.keys.partitionLease(fence.partition).lease, snapshot, String(fence.token), ...args);
        else pipeline.triageClusterAppend(journal, snapshot, ...args);
        partitions.push(fence?.partition);
      }
    }
    const results = (await pipeline.exec()) ?? [];
    const errors = results.flatMap(([error], i) => (error ? [this.translate(error, partitions[i])] : []));
    // A fenced refusal matters most to the caller: it must stop acting for the partition.
    if (errors.length > 0) throw errors.find((e) => e instanceof FencedError) ?? errors[0];
  }

  events(key: string, afterSeq: number): Promise<JournalEntry[]> {
    return this.inner.events(key, afterSeq);
  }

  latestSnapshot(key: string): Promise<Snapshot | undefined> {
    return this.inner.latestSnapshot(key);
  }

  async takeSnapshot(snapshot: Snapshot): Promise<boolean> {
    const body = JSON.stringify({ version: snapshot.version, data: snapshot.data });
    const snapshotKey = this.keys.persistence.snapshot(snapshot.key);
    const journalKey = this.keys.persistence.journal(snapshot.key);
    const fence = this.fenceFor(snapshot.key);
    try {
      const result = fence
        ? await this.client.triageFencedTakeSnapshot(snapshotKey, journalKey, this.keys.partitionLease(fence.partition).lease, String(fence.token), String(snapshot.seq), body)
        : await this.client.triageClusterTakeSnapshot(snapshotKey, journalKey, String(snapshot.seq), body);
      return result === TAKE_SNAPSHOT_STORED;
    } catch (error) {
      throw this.translate(error, fence?.partition);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The fence of a partition key, undefined for keys written unfenced; throws when a required fence is missing. */
  private fenceFor(key: string): { partition: number; token: number } | undefined {
    const partition = partitionOfKey(key);
    if (partition === undefined) return undefined;
    const token = this.fences.get(partition);
    if (token !== undefined) return { partition, token };
    if (this.requireFence) throw new FencedError(partition, 0, 0);
    return undefined;
  }

  private translate(error: unknown, partition: number | undefined): unknown {
    if (partition === undefined || !(error instanceof Error)) return error;
    const match = new RegExp(`${FENCED_ERROR} (\\d+) (\\d+)`).exec(error.message);
    return match ? new FencedError(partition, Number(match[1]), Number(match[2])) : error;
  }
}
