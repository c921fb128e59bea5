/**
 * Which partitions this node runs. Every node computes the same rendezvous assignment over the live
 * node ids, takes the leases of the partitions assigned to it and gives up those assigned elsewhere.
 * A partition changes hands only through its lease: the old owner releases it once its handover hook
 * has stopped and flushed the partition (or the lease expires when the old owner is gone), and only
 * then can the new owner acquire it, with a higher fencing token. While a lease is held its token is
 * the engine's fence for the partition, so a former owner that has not noticed its loss is refused by
 * Redis itself.
 *
 * Events, per partition: 'acquired' is followed by exactly one of 'released' (after 'releasing') or
 * 'lost', unless the node is stopped without handover.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { OptionsError } from '../errors.ts';
import { ownerOf } from './assignment.ts';
import type { FencedRedisEngine } from './fenced-journal.ts';
import type { ClusterKeys } from './keys.ts';
import { LeaseTable, partitionLeases, type LeaseLoss, type Leases } from './leases.ts';
import { Membership, type MembershipChange, type NodeInfo } from './membership.ts';
import { PartitionHolds, type HoldEvent } from './partition-holds.ts';
import { reportTo } from './report.ts';

export interface PartitionOwnershipOptions {
  /** Shared by membership and leases; not closed by `stop`. */
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  /** Partitions 0…partitions-1. */
  readonly partitions: number;
  /** Lifetime of a partition lease, and of a membership heartbeat. */
  readonly leaseTtlMs: number;
  readonly heartbeatMs: number;
  /** How often held leases are renewed; well under leaseTtlMs. */
  readonly renewMs: number;
  /**
   * How often the assignment is checked besides membership changes: a dead owner's lease runs out
   * with time, not with an event, so blocked acquisitions are retried on this tick. Default renewMs.
   */
  readonly reconcileMs?: number;
  /** Fenced with each held lease's token. Must refuse unfenced writes (`requireFence`). */
  readonly engine?: FencedRedisEngine;
  /** Stops the partition and flushes its journal and snapshot; the lease is released once it settles. */
  readonly beforeRelease?: (partition: number, token: number) => Promise<void>;
  /**
   * Whether this process may act as its node now (its identity and home held): checked before every
   * heartbeat and acquisition, so a process that wakes from a pause acts on nothing before it knows.
   * Default: always.
   */
  readonly mayAct?: () => boolean;
  /** Longest wait for beforeRelease before the lease is released anyway. Default 30000. */
  readonly handoverTimeoutMs?: number;
  /** Monotonic ms for lease deadlines. Default performance.now. Membership uses wall-clock time. */
  readonly now?: () => number;
  readonly adminUrl?: string;
  /** Redis errors and failed hooks of the background work (which goes on). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

export interface PartitionOwner {
  readonly partition: number;
  readonly node: string;
  readonly token: number;
  /** Time left before Redis expires the lease, in ms. */
  readonly ttlMs: number;
}

export interface PartitionOwnership {
  on(event: 'acquired', listener: (partition: number, token: number) => void): this;
  on(event: 'releasing', listener: (partition: number, token: number) => void): this;
  on(event: 'released', listener: (partition: number, token: number) => void): this;
  on(event: 'lost', listener: (partition: number, reason: LeaseLoss, token: number) => void): this;
  on(event: 'members', listener: (change: MembershipChange) => void): this;
}

export class PartitionOwnership extends EventEmitter {
  readonly nodeId: string;
  readonly partitions: number;
  private readonly options: PartitionOwnershipOptions;
  private readonly leases: Leases<number>;
  private readonly table: LeaseTable<number>;
  private readonly membership: Membership;
  private liveIds: string[] = [];
  private readonly holds: PartitionHolds;
  /** This node's partitions under the live set last seen. */
  private mine = new Set<number>();
  private running = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private reconciling: Promise<void> | undefined;
  private again = false;

  constructor(options: PartitionOwnershipOptions) {
    super();
    const problems = [];
    if (!Number.isInteger(options.partitions) || options.partitions < 1) problems.push({ field: 'partitions', problem: 'must be a whole number ≥ 1' });
    if (options.engine && !options.engine.requireFence) {
      // A lost lease clears the fence; without requireFence that would let the writes through unfenced.
      problems.push({ field: 'engine', problem: 'must be created with requireFence' });
    }
    for (const field of ['reconcileMs', 'handoverTimeoutMs'] as const) {
      if (options[field] !== undefined && !(options[field] > 0)) problems.push({ field, problem: 'must be > 0' });
    }
    if (problems.length > 0) throw new OptionsError(problems);
    this.options = options;
    this.nodeId = options.nodeId;
    this.partitions = options.partitions;
    const onError = (error: unknown) => this.report(error);
    this.leases = partitionLeases(options.client, options.keys);
    this.table = new LeaseTable({
      leases: this.leases,
      nodeId: options.nodeId,
      ttlMs: options.leaseTtlMs,
      renewMs: options.renewMs,
      now: options.now,
      onLost: (partition, token, reason) => this.holds.lost(partition, token, reason),
      onError,
    });
    this.holds = new PartitionHolds({
      table: this.table,
      engine: options.engine,
      beforeRelease: options.beforeRelease,
      handoverTimeoutMs: options.handoverTimeoutMs ?? 30_000,
      emit: (...event) => this.emitSafe(...event),
      report: onError,
      // Still (or again) assigned here: take it back once it is free.
      settled: () => this.kick(),
    });
    this.membership = new Membership({
      client: options.client,
      keys: options.keys,
      nodeId: options.nodeId,
      heartbeatMs: options.heartbeatMs,
      ttlMs: options.leaseTtlMs,
      adminUrl: options.adminUrl,
      mayHeartbeat: options.mayAct,
      onError,
    });
    this.membership.on('change', (change) => {
      this.setLive(change.live.map((n) => n.id));
      this.emitSafe('members', change);
      this.kick();
    });
  }

  /**
   * Joins the cluster and starts following the assignment. Also resumes after `stop({ handover: false })`,
   * as a paused process wakes: leases whose deadline passed meanwhile are reported lost before anything else.
   */
  async start(): Promise<void> {
    if (this.running) return;
    // Before running: a partition found lost here must not be taken back on the view from before the pause.
    this.table.check();
    this.running = true;
    this.table.start();
    try {
      await this.membership.join();
      this.setLive((await this.membership.live()).map((n) => n.id));
    } catch (error) {
      this.running = false;
      await this.table.stop();
      throw error;
    }
    if (!this.running) return;
    this.membership.start();
    this.timer = setInterval(() => this.kick(), this.options.reconcileMs ?? this.options.renewMs);
    // The membership and renew loops keep a started node alive; the retry tick alone must not.
    this.timer.unref();
    this.kick();
  }

  /**
   * With handover (the default), releases every partition (each through beforeRelease), then leaves
   * the live set, so the other nodes take the partitions over at once. Without, only stops the loops,
   * as a crash would: leases and fences stay until they expire, and `start` may resume.
   */
  async stop(options: { handover?: boolean } = {}): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (options.handover === false) {
      await Promise.all([this.membership.stop(), this.table.stop()]);
      return;
    }
    // An acquisition in flight settles first, so its partition is released too.
    await this.reconciling;
    await this.holds.releaseAll();
    try {
      await this.membership.leave();
    } catch (error) {
      this.report(error);
    }
    await this.table.stop();
  }

  /** Partitions held now, with their tokens (deadlines checked: a lapsed lease is reported lost here). */
  owned(): Map<number, number> {
    return this.holds.owned();
  }

  /** Whether the partition's lease is held, deadline checked (a lapsed lease is reported lost here). */
  held(partition: number): boolean {
    return this.holds.holds(partition);
  }

  /** The holder of every held partition lease, as Redis has it, by partition; free partitions are absent. */
  async ownerView(): Promise<PartitionOwner[]> {
    const holders = await Promise.all(Array.from({ length: this.partitions }, (_, p) => this.leases.holder(p)));
    return holders.flatMap((h, partition) => (h ? [{ partition, node: h.node, token: h.token, ttlMs: h.ttlMs }] : []));
  }

  /** The holder of one partition's lease, as Redis has it; undefined while it is free. */
  holder(partition: number): Promise<PartitionOwner | undefined> {
    return this.leases.holder(partition).then((h) => h && { partition, node: h.node, token: h.token, ttlMs: h.ttlMs });
  }

  /** Where this node's admin endpoint listens: shown to the other nodes from the next heartbeat on. */
  setAdminUrl(adminUrl: string): void {
    this.membership.setAdminUrl(adminUrl);
  }

  live(): Promise<NodeInfo[]> {
    return this.membership.live();
  }

  /** The node the assignment gives `partition` to, by this node's view of the live set. */
  assignee(partition: number): string | undefined {
    return this.liveIds.length > 0 ? ownerOf(partition, this.liveIds) : undefined;
  }

  /** Tries at once to take the partitions that are this node's (another node has just released one). */
  retry(): void {
    this.kick();
  }

  private setLive(ids: string[]): void {
    this.liveIds = ids;
    const mine = new Set<number>();
    for (let p = 0; p < this.partitions; p++) if (ownerOf(p, ids) === this.nodeId) mine.add(p);
    this.mine = mine;
  }

  /** Runs a reconcile now, or right after the one in flight. */
  private kick(): void {
    if (!this.running) return;
    if (this.reconciling) {
      this.again = true;
      return;
    }
    // Started on a later microtask: reconcile reports lost leases, and a kick from there must find it in flight.
    this.reconciling = Promise.resolve()
      .then(() => this.reconcile())
      .catch((error: unknown) => this.report(error))
      .finally(() => {
        this.reconciling = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async reconcile(): Promise<void> {
    this.table.check();
    if (this.options.mayAct && !this.options.mayAct()) return;
    for (const partition of this.holds.partitions()) {
      if (!this.mine.has(partition)) void this.holds.release(partition);
    }
    // A partition still held elsewhere (handing over, or its dead owner's lease not yet expired) is tried again next tick.
    await Promise.all([...this.mine].filter((p) => !this.holds.busy(p)).map((p) => this.holds.acquire(p)));
  }

  private emitSafe(...event: HoldEvent | ['members', MembershipChange]): void {
    const [name, ...args] = event;
    try {
      this.emit(name, ...args);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    reportTo(this.options.onError, error);
  }
}
