/**
 * A node's identity is a fenced lease of its own: the lease on the node id is held by one process
 * (named by its home, unique to this start of it), so two live processes never act as the same
 * node. Partition leases are held by node id; without this, a second process started with a live
 * node's id would take the same partitions and run the same work twice.
 *
 * A process that finds the id held by another process refuses to start (`NODE_ID_IN_USE`). A
 * crashed predecessor's lease runs out within one ttl, so a restart waits for that, while a live
 * holder shows itself by renewing. A node whose identity lapsed (paused past the ttl) acts on
 * nothing until it holds it again; one that finds it taken over stops (`NODE_ID_TAKEN_OVER`).
 */
import type { Redis } from 'ioredis';
import { TriageError } from '../errors.ts';
import type { ClusterKeys } from './keys.ts';
import { Leases, LeaseTable } from './leases.ts';

export interface NodeIdentityOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  /** This process: the holder written into the lease. */
  readonly incarnation: string;
  readonly ttlMs: number;
  /** Another process holds the identity now: this one must stop acting at once. */
  readonly takenOver: (fault: TriageError) => void;
  /** Held again after a lapse: whatever waited for it may go on. */
  readonly regained?: () => void;
  readonly onError?: (error: unknown) => void;
}

export class NodeIdentity {
  private readonly leases: Leases<string>;
  private readonly table: LeaseTable<string>;
  private regaining: Promise<void> | undefined;
  private stopped = false;
  /** Set once another process holds the identity: nothing brings it back. */
  takenOver = false;

  constructor(private readonly options: NodeIdentityOptions) {
    this.leases = new Leases<string>(options.client, options.keys.nodeLease);
    this.table = new LeaseTable<string>({
      leases: this.leases,
      // The lease is held by this process, not by the node id, so that another process of the same id is refused.
      nodeId: options.incarnation,
      ttlMs: options.ttlMs,
      renewMs: Math.max(20, Math.floor(options.ttlMs / 4)),
      onLost: () => this.regain(),
      onError: (error) => options.onError?.(error),
    });
  }

  /**
   * Takes the identity, or throws `NODE_ID_IN_USE` when a live process holds it. A holder that
   * does not renew (a crashed predecessor) is waited out, up to one ttl and a renewal.
   */
  async claim(): Promise<void> {
    const { ttlMs, nodeId } = this.options;
    const renewMs = Math.max(20, Math.floor(ttlMs / 4));
    const giveUp = performance.now() + ttlMs + 2 * renewMs;
    let first: { holder: string; sentAt: number; roundTrip: number; ttlMs: number } | undefined;
    for (;;) {
      if ((await this.table.acquire(nodeId)) !== undefined) break;
      const sentAt = performance.now();
      const holder = await this.leases.holder(nodeId);
      const at = performance.now();
      if (holder) {
        // Renewed if its time left grew: without a renewal it is at most what the first read saw,
        // less the time between the two reads, which is at least the gap between sending them
        // minus the first read's round trip (a slow reply must not pass for a renewal).
        const renewed = first?.holder === holder.node && holder.ttlMs > first.ttlMs - (sentAt - first.sentAt) + first.roundTrip + 10;
        if (renewed || at > giveUp) throw await this.inUse(holder.node);
        if (first?.holder !== holder.node) first = { holder: holder.node, sentAt, roundTrip: at - sentAt, ttlMs: holder.ttlMs };
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, Math.min(renewMs / 2, holder?.ttlMs ?? 10))));
    }
    this.table.start();
  }

  /** Whether this process holds its identity by its own clock (a lapse starts taking it back). */
  held(): boolean {
    return !this.takenOver && this.table.holds(this.options.nodeId);
  }

  /** Stops renewing; with `release`, gives the identity up at once so a restart need not wait. */
  async stop(options: { release: boolean }): Promise<void> {
    this.stopped = true;
    await this.table.stop();
    if (options.release && !this.takenOver) await this.table.release(this.options.nodeId).catch((error: unknown) => this.options.onError?.(error));
  }

  private regain(): void {
    if (this.regaining || this.stopped || this.takenOver) return;
    this.regaining = (async () => {
      try {
        // Free (it lapsed and no one took it) or still ours in Redis: held again, with a new token.
        if ((await this.table.acquire(this.options.nodeId)) !== undefined) {
          this.options.regained?.();
          return;
        }
        const holder = await this.leases.holder(this.options.nodeId);
        if (!holder) return this.regainLater();
        this.takenOver = true;
        this.options.takenOver(new TriageError('NODE_ID_TAKEN_OVER', `node id ${this.options.nodeId} is held by another process now (${holder.node}); this one stops`));
      } catch (error) {
        this.options.onError?.(error);
        this.regainLater();
      }
    })().finally(() => { this.regaining = undefined; });
  }

  private regainLater(): void {
    setTimeout(() => this.regain(), Math.max(20, Math.floor(this.options.ttlMs / 4))).unref();
  }

  private async inUse(holder: string): Promise<TriageError> {
    const { client, keys, nodeId } = this.options;
    const info = await client.hget(keys.memberInfo, nodeId).catch(() => null);
    const pid = info ? (JSON.parse(info) as { pid?: number }).pid : undefined;
    const who = pid === undefined ? `process ${holder}` : `process ${holder} (pid ${pid})`;
    return new TriageError('NODE_ID_IN_USE', `node id ${nodeId} is in use by a live ${who}; give this node another --node-id`);
  }
}
