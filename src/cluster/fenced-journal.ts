/**
 * The Redis engine behind partition and home leases: a partition's (or a home's) journal appends and
 * snapshots go through scripts that first check the writer's fencing token against the lease, in the
 * same atomic step. A node that lost its lease (paused, cut off) and wakes up to write is refused by
 * Redis itself, whatever it believes. Other keys, and fenced kinds of key with no fence set (unless
 * `requireFence`), are written as RedisEngine writes them.
 */
import type { Redis } from 'ioredis';
import { TriageError } from '../errors.ts';
import type { JournalEntry, OutboxMessage, PersistenceEngine, Snapshot } from '../persistence/engine.ts';
import { appendArgsByKey, type RedisEngine } from '../persistence/redis.ts';
import { APPEND, TAKE_SNAPSHOT, TAKE_SNAPSHOT_STORED } from '../persistence/scripts.ts';
import { clusterKeys, homeOfKey, partitionOfKey, type ClusterKeys } from './keys.ts';
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

/** A write for a partition or home whose lease has passed to a newer token; nothing of it was stored. */
export class FencedError extends TriageError {
  /** The partition written, when the key is a partition's. */
  readonly partition: number | undefined;

  constructor(
    /** The persistence key written (`partition-<i>`, or a home's key). */
    readonly key: string,
    /** The token the lease has now (0 when it expired and no node took it since). */
    readonly currentToken: number,
    /** The token the write carried (0: none was set, with `requireFence`). */
    readonly token: number,
  ) {
    const partition = partitionOfKey(key);
    const why = token === 0 ? 'this node holds no fencing token for it' : `lease token is ${currentToken}, the write carried ${token}`;
    super('FENCED', `${partition === undefined ? key : `partition ${partition}`} is fenced: ${why}`);
    this.partition = partition;
  }
}

function checkToken(token: number): number {
  if (!Number.isSafeInteger(token) || token < 1) throw new Error(`fencing token must be a whole number ≥ 1, got ${token}`);
  return token;
}

/** The lease a write must still hold, and the token it carries. */
interface Fence {
  readonly key: string;
  readonly partition: number | undefined;
  readonly lease: string;
  readonly token: number;
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
  triageClusterAppend(journalKey: string, snapshotKey: string, ...seqAndBodies: Array<string | Buffer>): unknown;
  triageFencedAppend(journalKey: string, leaseKey: string, snapshotKey: string, token: string, ...seqAndBodies: Array<string | Buffer>): unknown;
  triageFencedTransfer(journalKey: string, leaseKey: string, snapshotKey: string, inboxKey: string, token: string, message: string, seq: string, body: string): unknown;
};

export class FencedRedisEngine implements PersistenceEngine {
  readonly durable = true;
  readonly keys: ClusterKeys;
  private readonly client: FencedRedis;
  private readonly fences = new Map<number, number>();
  private readonly homeFences = new Map<string, number>();
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
    this.fences.set(partition, checkToken(token));
  }

  clearFence(partition: number): void {
    this.fences.delete(partition);
  }

  fenceOf(partition: number): number | undefined {
    return this.fences.get(partition);
  }

  /** From now on, writes for the home's keys (its graph and workflows) carry `token`. */
  setHomeFence(home: string, token: number): void {
    this.homeFences.set(home, checkToken(token));
  }

  clearHomeFence(home: string): void {
    this.homeFences.delete(home);
  }

  homeFenceOf(home: string): number | undefined {
    return this.homeFences.get(home);
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
    const fences: (Fence | undefined)[] = [];
    for (const [key, list] of byKey) {
      const fence = this.fenceFor(key);
      const journal = this.keys.persistence.journal(key);
      const snapshot = this.keys.persistence.snapshot(key);
      // A key's entries go in order: runs of plain entries in one append each, and an entry that
      // hands payloads to another partition in a transfer of its own (journal entry + inbox message).
      for (const run of runsOf(list)) {
        if (run.outbox) {
          if (fence?.partition === undefined) throw new Error(`journal entry ${key}#${run.entry.seq} hands payloads to another partition, but ${key} is not a fenced partition`);
          for (const message of run.outbox) {
            pipeline.triageFencedTransfer(journal, fence.lease, snapshot, this.keys.inbox(message.partition),
              String(fence.token), JSON.stringify(message.data), String(run.entry.seq), JSON.stringify(run.entry.data));
            fences.push(fence);
          }
          continue;
        }
        const args = appendArgsByKey(run.entries).get(key) ?? [];
        if (fence) pipeline.triageFencedAppend(journal, fence.lease, snapshot, String(fence.token), ...args);
        else pipeline.triageClusterAppend(journal, snapshot, ...args);
        fences.push(fence);
      }
    }
    const results = (await pipeline.exec()) ?? [];
    const errors = results.flatMap(([error], i) => (error ? [this.translate(error, fences[i])] : []));
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
        ? await this.client.triageFencedTakeSnapshot(snapshotKey, journalKey, fence.lease, String(fence.token), String(snapshot.seq), body)
        : await this.client.triageClusterTakeSnapshot(snapshotKey, journalKey, String(snapshot.seq), body);
      return result === TAKE_SNAPSHOT_STORED;
    } catch (error) {
      throw this.translate(error, fence);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** The fence of a partition's or home's key, undefined for keys written unfenced; throws when a required fence is missing. */
  private fenceFor(key: string): Fence | undefined {
    const partition = partitionOfKey(key);
    const home = partition === undefined ? homeOfKey(key) : undefined;
    if (partition === undefined && home === undefined) return undefined;
    const token = partition !== undefined ? this.fences.get(partition) : this.homeFences.get(home as string);
    if (token !== undefined) {
      const lease = partition !== undefined ? this.keys.partitionLease(partition).lease : this.keys.homeLease(home as string).lease;
      return { key, partition, lease, token };
    }
    if (this.requireFence) throw new FencedError(key, 0, 0);
    return undefined;
  }

  private translate(error: unknown, fence: Fence | undefined): unknown {
    if (fence === undefined || !(error instanceof Error)) return error;
    const match = new RegExp(`${FENCED_ERROR} (\\d+) (\\d+)`).exec(error.message);
    return match ? new FencedError(fence.key, Number(match[1]), Number(match[2])) : error;
  }
}
