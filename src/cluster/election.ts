/**
 * Leader election for the coordinator: one lease, the same mechanism as a partition's. Every node
 * runs an election; the one that holds the lease leads, renews it on each round, and the others try
 * to take it on theirs. A leader acts only while `token()` answers, and fences its writes with it.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';
import { coordinatorLeases, LeaseTable, type LeaseHolder, type LeaseLoss, type Leases } from './leases.ts';

export interface ElectionOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  readonly ttlMs: number;
  /** Round length: the leader renews, the others try to take the lease. Well under ttlMs. */
  readonly roundMs: number;
  /** Monotonic ms. Default performance.now. */
  readonly now?: () => number;
  /** Redis errors of the rounds (the rounds go on). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

const COORDINATOR = 'coordinator' as const;

export interface CoordinatorElection {
  on(event: 'elected', listener: (token: number) => void): this;
  on(event: 'deposed', listener: (token: number, reason: LeaseLoss) => void): this;
}

export class CoordinatorElection extends EventEmitter {
  private readonly leases: Leases<'coordinator'>;
  private readonly table: LeaseTable<'coordinator'>;
  private readonly onError: (error: unknown) => void;
  private timer: ReturnType<typeof setInterval> | undefined;
  private round: Promise<void> | undefined;

  constructor(private readonly options: ElectionOptions) {
    super();
    this.onError = options.onError ?? (() => {});
    this.leases = coordinatorLeases(options.client, options.keys);
    this.table = new LeaseTable({
      leases: this.leases,
      nodeId: options.nodeId,
      ttlMs: options.ttlMs,
      renewMs: options.roundMs,
      now: options.now,
      onLost: (_name, token, reason) => this.emit('deposed', token, reason),
      onError: this.onError,
    });
  }

  /** The leader's fencing token while this node leads (checked against the local deadline), else undefined. */
  token(): number | undefined {
    return this.table.token(COORDINATOR);
  }

  isLeader(): boolean {
    return this.token() !== undefined;
  }

  /** Who leads now, as Redis has it. */
  leader(): Promise<LeaseHolder | undefined> {
    return this.leases.holder(COORDINATOR);
  }

  /** One round: renew when leading, else try to take the lease. */
  async runRound(): Promise<void> {
    if (this.table.holds(COORDINATOR)) {
      await this.table.renewAll();
      return;
    }
    const token = await this.table.acquire(COORDINATOR);
    if (token !== undefined) this.emit('elected', token);
  }

  /** Runs a round at once, then every roundMs. */
  start(): void {
    if (this.timer) return;
    const tick = () => {
      this.table.check();
      if (this.round) return;
      this.round = this.runRound()
        .catch((error: unknown) => this.onError(error))
        .finally(() => { this.round = undefined; });
    };
    this.timer = setInterval(tick, this.options.roundMs);
    tick();
  }

  /** Stops the rounds (a round in flight is awaited); a lease held stays until it expires or `resign`. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
  }

  /** Stops and gives up the lease at once, so another node can lead without waiting out the ttl. */
  async resign(): Promise<void> {
    await this.stop();
    await this.table.release(COORDINATOR);
  }
}
