/**
 * The partitions one node holds, each tied to its lease and to the engine's fence for it. Taking one
 * sets the fence before anyone hears of it; giving one up runs the handover hook, then clears the fence,
 * then releases the lease, so nothing of this node can be written once another node holds it; losing
 * one clears the fence at once. When to take or give up a partition is PartitionOwnership's business.
 */
import type { FencedRedisEngine } from './fenced-journal.ts';
import type { LeaseLoss, LeaseTable } from './leases.ts';

export type HoldEvent =
  | ['acquired', partition: number, token: number]
  | ['releasing', partition: number, token: number]
  | ['released', partition: number, token: number]
  | ['lost', partition: number, reason: LeaseLoss, token: number];

export interface PartitionHoldsOptions {
  readonly table: LeaseTable<number>;
  readonly engine: FencedRedisEngine | undefined;
  readonly beforeRelease: ((partition: number, token: number) => Promise<void>) | undefined;
  readonly handoverTimeoutMs: number;
  readonly emit: (...event: HoldEvent) => void;
  readonly report: (error: unknown) => void;
  /** A handover ended or a lease was lost: the partition may be this node's to take (back) now. */
  readonly settled: () => void;
}

/** One held lease; a new object per acquisition, so a late step of an old one can tell it is stale. */
interface Held {
  readonly token: number;
}

export class PartitionHolds {
  private readonly held = new Map<number, Held>();
  private readonly releasing = new Map<number, Promise<void>>();

  constructor(private readonly options: PartitionHoldsOptions) {}

  /** Held, or still being handed over. */
  busy(partition: number): boolean {
    return this.held.has(partition) || this.releasing.has(partition);
  }

  partitions(): number[] {
    return [...this.held.keys()];
  }

  /** Whether the partition is held, deadline checked (a lapsed lease is reported lost here). */
  holds(partition: number): boolean {
    const held = this.held.get(partition);
    return held !== undefined && this.options.table.token(partition) === held.token;
  }

  /** Held partitions with their tokens, deadlines checked (a lapsed lease is reported lost here). */
  owned(): Map<number, number> {
    const result = new Map<number, number>();
    for (const [partition, held] of this.held) {
      if (this.options.table.token(partition) === held.token) result.set(partition, held.token);
    }
    return result;
  }

  /** Tries the lease once; a partition still held by another node is simply not taken. */
  async acquire(partition: number): Promise<void> {
    let token: number | undefined;
    try {
      token = await this.options.table.acquire(partition);
    } catch (error) {
      this.options.report(error);
      return;
    }
    if (token === undefined || this.held.get(partition)?.token === token) return;
    this.held.set(partition, { token });
    // Fenced before anyone hears of it, so no write for it can go out unfenced.
    this.options.engine?.setFence(partition, token);
    this.options.emit('acquired', partition, token);
  }

  /** Hands one partition over; a second call while it runs joins the first. Never rejects. */
  release(partition: number): Promise<void> {
    const pending = this.releasing.get(partition);
    if (pending) return pending;
    const held = this.held.get(partition);
    if (!held) return Promise.resolve();
    const task = this.handOver(partition, held).finally(() => {
      this.releasing.delete(partition);
      this.options.settled();
    });
    this.releasing.set(partition, task);
    return task;
  }

  /** Hands every partition over, including those already on their way. */
  async releaseAll(): Promise<void> {
    await Promise.all(this.partitions().map((p) => this.release(p)));
    await Promise.all([...this.releasing.values()]);
  }

  /** From the lease table: the lease may be someone else's already, so writes stop at once. */
  lost(partition: number, token: number, reason: LeaseLoss): void {
    const held = this.held.get(partition);
    if (!held || held.token !== token) return;
    this.held.delete(partition);
    this.options.engine?.clearFence(partition);
    this.options.emit('lost', partition, reason, token);
    this.options.settled();
  }

  private async handOver(partition: number, held: Held): Promise<void> {
    this.options.emit('releasing', partition, held.token);
    try {
      await this.beforeRelease(partition, held.token);
    } catch (error) {
      // Released all the same: held with its actor stopped it would be served by no one. The next
      // owner recovers what was journaled, as after a crash.
      this.options.report(error);
    }
    // Lost while handing over: 'lost' was reported instead, and the lease is not ours to release.
    if (this.held.get(partition) !== held) return;
    this.held.delete(partition);
    this.options.engine?.clearFence(partition);
    try {
      await this.options.table.release(partition);
    } catch (error) {
      // Redis expires it after the ttl; the new owner waits that long.
      this.options.report(error);
    }
    this.options.emit('released', partition, held.token);
  }

  private async beforeRelease(partition: number, token: number): Promise<void> {
    const hook = this.options.beforeRelease;
    if (!hook) return;
    const ms = this.options.handoverTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`handover of partition ${partition} took longer than ${ms} ms`)), ms);
      timer.unref();
    });
    try {
      await Promise.race([Promise.resolve().then(() => hook(partition, token)), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
