/**
 * The partition actors this process runs. Embedded, that is every partition from boot to stop; in
 * a cluster, the partitions whose lease this node holds: one is recovered from snapshot + journal
 * when its lease is acquired, handed over (suspended, drained of running work, flushed, snapshotted)
 * before its lease is released, and dropped at once when its lease is lost.
 */
import { spawnPartition, type PartitionHandle, type PartitionWiring } from '../../actors/partition/actor.ts';
import type { PartitionDelta, PartitionSnapshotData } from '../../actors/partition/codec.ts';
import { restorePartition } from '../../actors/partition/replay.ts';
import { demandOf, type PartitionState } from '../../actors/partition/state.ts';
import type { ActorSystem } from '../core/actor-system.ts';
import type { ExecutionPool } from '../execution/pool.ts';
import type { Durability } from '../persistence/durability.ts';

export interface PartitionSetOptions {
  readonly system: ActorSystem;
  readonly pool: ExecutionPool;
  readonly durability: Durability;
  /** Whether partitions journal their transitions (durable stores; the in-memory default journals nothing). */
  readonly journaled: boolean;
  /** In a cluster: whether a partition runs on another node (it is not here). */
  readonly remote?: (partition: number) => boolean;
  /** In a cluster: whether this node still holds the partition's lease (its local deadline not passed). */
  readonly leased?: (partition: number) => boolean;
  /** Told of each partition spawned here, before it is offered to the pool (a client pause reaches it first). */
  readonly spawned?: (handle: PartitionHandle) => void;
  /** Everything a partition is spawned with besides its index, state and durability. */
  readonly wiring: Omit<PartitionWiring, 'index' | 'initialState' | 'durability' | 'system' | 'pool'>;
}

/** What recovering one partition found. */
export interface RecoveredPartition {
  readonly index: number;
  readonly records: number;
  /** Payloads that were running when the last owner stopped: they run again. */
  readonly rerun: number;
  readonly deferred: number;
}

export class PartitionSet {
  private readonly handles: (PartitionHandle | undefined)[] = [];

  constructor(private readonly options: PartitionSetOptions) {}

  get(index: number): PartitionHandle | undefined {
    return this.handles[index];
  }

  /** The partitions running here, by index. */
  local(): PartitionHandle[] {
    return this.handles.filter((h): h is PartitionHandle => h !== undefined);
  }

  states(): PartitionState[] {
    return this.local().map((h) => h.state());
  }

  /** Loads the partition's snapshot and journal; spawning is separate so that many load in parallel. */
  async load(index: number): Promise<{ index: number; state: PartitionState; rerun: number; journalSeq: number }> {
    const key = partitionKey(index);
    const { snapshot, entries } = await this.options.durability.load(key);
    const restored = restorePartition(
      index,
      snapshot && { version: snapshot.version, data: snapshot.data as PartitionSnapshotData },
      entries.map((e) => e.data as PartitionDelta),
      { shares: this.options.wiring.env.options.fairness, maxWait: this.options.wiring.env.options.maxWait },
    );
    return { index, state: restored.state, rerun: restored.rerun.length, journalSeq: entries.at(-1)?.seq ?? snapshot?.seq ?? 0 };
  }

  /**
   * Loads and spawns a partition this process may have run before: its former actor, retired when
   * the partition left, must be gone first (it finishes its mailbox before it leaves).
   */
  async recover(index: number): Promise<RecoveredPartition> {
    await this.options.system.retired(partitionKey(index));
    return this.spawn(await this.load(index));
  }

  /** Spawns a loaded partition; its recovered work is offered to the pool and its timers armed at once. */
  spawn(loaded: Awaited<ReturnType<PartitionSet['load']>>): RecoveredPartition {
    const { system, pool, durability, wiring } = this.options;
    const { index, state, journalSeq } = loaded;
    const key = partitionKey(index);
    const handle = spawnPartition({
      ...wiring,
      system,
      pool,
      index,
      initialState: state,
      durability: !this.options.journaled ? undefined : {
        writer: durability.writer,
        key,
        journalSeq,
        snapshotEvery: durability.snapshotEvery,
        snapshot: (k, seq, version, data) => durability.snapshot(k, seq, version, data),
        snapshotNow: (k, seq, version, data) => durability.store(k, seq, version, data),
        ...(this.options.remote ? { remote: this.options.remote } : {}),
        ...(this.options.leased ? { leased: () => this.options.leased!(index) } : {}),
      },
    });
    this.handles[index] = handle;
    this.options.spawned?.(handle);
    pool.setDemand(index, demandOf(state));
    handle.armTimers();
    let deferred = 0;
    for (const record of state.records.values()) if (record.status === 'deferred') deferred++;
    return { index, records: state.records.size, rerun: loaded.rerun, deferred };
  }

  /**
   * Gives the partition up in good order: no new starts, running payloads finish (aborted after
   * `timeoutMs`, to run again at the next owner), every entry stored, a snapshot taken, the actor retired.
   */
  async handOver(index: number, timeoutMs: number): Promise<void> {
    const handle = this.handles[index];
    if (!handle) return;
    handle.suspend();
    // Grants already in the mailbox start work too: wait for them before counting what runs.
    await handle.settled();
    const deadline = Date.now() + timeoutMs;
    while (handle.state().running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const running = handle.state();
    if (running.running > 0) {
      for (const record of running.records.values()) if (record.status === 'running') this.options.pool.abort(record.id, 'partition handed over');
    }
    await handle.settled();
    await this.options.durability.writer.whenFlushed();
    await handle.snapshotNow();
    this.remove(index);
  }

  /**
   * The lease is gone: another node may own the partition already. Running payloads are aborted
   * (their outcomes could not be journalled anyway) and the actor is retired without a flush.
   */
  drop(index: number): void {
    const handle = this.handles[index];
    if (!handle) return;
    handle.suspend();
    for (const record of handle.state().records.values()) if (record.status === 'running') this.options.pool.abort(record.id, 'partition lease lost');
    this.remove(index);
  }

  private remove(index: number): void {
    const handle = this.handles[index];
    if (!handle) return;
    // Its runs no longer count here: their outcomes reach no actor of this process.
    const { env } = this.options.wiring;
    const { limits } = env.options;
    if (limits.counting) {
      const now = env.now();
      for (const record of handle.state().records.values()) if (record.status === 'running') limits.ended(record.id, now);
    }
    handle.dispose();
    this.handles[index] = undefined;
    this.options.pool.reclaim(index);
    this.options.system.retire(handle.ref.path);
  }

  disposeAll(): void {
    for (const handle of this.local()) handle.dispose();
  }
}

export function partitionKey(index: number): string {
  return `partition-${index}`;
}
