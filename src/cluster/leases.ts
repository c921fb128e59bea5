/**
 * Leases with fencing tokens. A lease says which node may act for a partition (or as coordinator)
 * until it expires in Redis; its token, drawn from a counter that only grows, lets the store refuse
 * writes of a former holder that has not noticed it lost the lease (a paused process, a partitioned
 * network). `Leases` is the bare scripts; `LeaseTable` is one node's set of held leases, renewed
 * together, each dropped the moment it can no longer be trusted.
 */
import type { Redis } from 'ioredis';
import { OptionsError } from '../errors.ts';
import { checkNodeId, type ClusterKeys, type LeaseRef } from './keys.ts';
import { LEASE_ACQUIRE, LEASE_RELEASE, LEASE_RELEASED, LEASE_RENEW, LEASE_RENEWED } from './scripts.ts';
import { reportTo } from './report.ts';

export interface LeaseHolder {
  readonly node: string;
  readonly token: number;
  /** Time left before Redis expires the lease, in ms. */
  readonly ttlMs: number;
}

type LeaseRedis = Redis & {
  triageLeaseAcquire(lease: string, fence: string, node: string, ttlMs: string): Promise<number>;
  triageLeaseRenew(lease: string, node: string, token: string, ttlMs: string): Promise<number>;
  triageLeaseRelease(lease: string, node: string, token: string): Promise<number>;
};
type LeasePipeline = ReturnType<Redis['pipeline']> & { triageLeaseRenew(lease: string, node: string, token: string, ttlMs: string): unknown };

/** The lease scripts over one family of leases, named by `N` (a partition number, 'coordinator'). */
export class Leases<N> {
  private readonly client: LeaseRedis;

  constructor(client: Redis, readonly ref: (name: N) => LeaseRef) {
    client.defineCommand('triageLeaseAcquire', { numberOfKeys: 2, lua: LEASE_ACQUIRE });
    client.defineCommand('triageLeaseRenew', { numberOfKeys: 1, lua: LEASE_RENEW });
    client.defineCommand('triageLeaseRelease', { numberOfKeys: 1, lua: LEASE_RELEASE });
    this.client = client as LeaseRedis;
  }

  /** The new fencing token, or 0 when another node holds the lease. */
  async acquire(name: N, nodeId: string, ttlMs: number): Promise<number> {
    const { lease, fence } = this.ref(name);
    return Number(await this.client.triageLeaseAcquire(lease, fence, nodeId, String(Math.ceil(ttlMs))));
  }

  /** True when the lease was still `nodeId`'s with `token` and now runs ttlMs from now. */
  async renew(name: N, nodeId: string, token: number, ttlMs: number): Promise<boolean> {
    return (await this.client.triageLeaseRenew(this.ref(name).lease, nodeId, String(token), String(Math.ceil(ttlMs)))) === LEASE_RENEWED;
  }

  /** Renews many in one round trip; each result is true (renewed), false (lost) or the error of that call. */
  async renewMany(items: readonly { name: N; token: number }[], nodeId: string, ttlMs: number): Promise<(boolean | Error)[]> {
    if (items.length === 0) return [];
    const pipeline = this.client.pipeline() as LeasePipeline;
    for (const { name, token } of items) pipeline.triageLeaseRenew(this.ref(name).lease, nodeId, String(token), String(Math.ceil(ttlMs)));
    const results = (await pipeline.exec()) ?? [];
    return items.map((_, i) => {
      const [error, value] = results[i] ?? [new Error('no reply')];
      return error ?? value === LEASE_RENEWED;
    });
  }

  /** Deletes the lease if it is still `nodeId`'s with `token`; true when it did. */
  async release(name: N, nodeId: string, token: number): Promise<boolean> {
    return (await this.client.triageLeaseRelease(this.ref(name).lease, nodeId, String(token))) === LEASE_RELEASED;
  }

  /** Which of the leases someone holds now, in one round trip. */
  async held(names: readonly N[]): Promise<boolean[]> {
    if (names.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const name of names) pipeline.exists(this.ref(name).lease);
    const results = (await pipeline.exec()) ?? [];
    // A failed read counts as held: the next round looks again.
    return names.map((_, i) => results[i]?.[0] != null || results[i]?.[1] !== 0);
  }

  /** Who holds the lease now, or undefined when it is free. */
  async holder(name: N): Promise<LeaseHolder | undefined> {
    const { lease } = this.ref(name);
    const results = (await this.client.multi().hmget(lease, 'node', 'token').pttl(lease).exec()) ?? [];
    const [node, token] = (results[0]?.[1] ?? []) as (string | null)[];
    if (node == null || token == null) return undefined;
    return { node, token: Number(token), ttlMs: Number(results[1]?.[1] ?? 0) };
  }
}

export const partitionLeases = (client: Redis, keys: ClusterKeys): Leases<number> => new Leases(client, keys.partitionLease);
export const coordinatorLeases = (client: Redis, keys: ClusterKeys): Leases<'coordinator'> => new Leases(client, () => keys.coordinatorLease);

/** Why a held lease stopped being this node's. */
export type LeaseLoss =
  /** Redis said it is no longer ours (expired, or taken with a newer token). */
  | 'refused'
  /** No renewal was confirmed before the local deadline; it may already be someone else's. */
  | 'expired';

export interface LeaseTableOptions<N> {
  readonly leases: Leases<N>;
  readonly nodeId: string;
  readonly ttlMs: number;
  /** How often the loop renews every held lease; well under ttlMs (a third of it is usual). */
  readonly renewMs: number;
  /**
   * Subtracted from each local deadline to cover the difference between this process's clock rate
   * and Redis's. Default 1% of ttl + 2 ms.
   */
  readonly driftMs?: number;
  /** A monotonic clock in ms; only differences are used. Default performance.now. */
  readonly now?: () => number;
  /** A held lease is gone; the holder must stop acting for it at once. */
  readonly onLost?: (name: N, token: number, reason: LeaseLoss) => void;
  /** Redis errors of renewals (the lease is kept until its local deadline). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

interface Held {
  readonly token: number;
  /** Local time after which the lease may have expired in Redis: renew request time + ttl - drift. */
  deadline: number;
}

/**
 * One node's leases. A lease counts as held until a renewal is refused or its local deadline passes;
 * the deadline runs from when the renewal was *sent*, since Redis may have applied it at any moment
 * after that, so a process paused past its deadline treats the lease as lost before acting again.
 */
export class LeaseTable<N = number> {
  readonly nodeId: string;
  private readonly options: LeaseTableOptions<N>;
  private readonly now: () => number;
  private readonly driftMs: number;
  private readonly held = new Map<N, Held>();
  private readonly acquiring = new Map<N, Promise<number | undefined>>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private renewing: Promise<void> | undefined;

  constructor(options: LeaseTableOptions<N>) {
    const driftMs = options.driftMs ?? Math.ceil(options.ttlMs * 0.01) + 2;
    const problems = [];
    if (!(options.renewMs > 0)) problems.push({ field: 'renewMs', problem: 'must be > 0' });
    if (!(options.ttlMs > options.renewMs + driftMs)) problems.push({ field: 'ttlMs', problem: 'must exceed renewMs plus the drift allowance' });
    if (problems.length > 0) throw new OptionsError(problems);
    this.nodeId = checkNodeId(options.nodeId);
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.driftMs = driftMs;
  }

  /**
   * Takes the lease and returns its fencing token, or undefined when another node holds it. A lease
   * this table already holds is returned as is (its token unchanged).
   */
  acquire(name: N): Promise<number | undefined> {
    const current = this.token(name);
    if (current !== undefined) return Promise.resolve(current);
    // Two concurrent acquires would each draw a token, leaving the first caller with a stale one.
    let pending = this.acquiring.get(name);
    if (!pending) {
      pending = this.acquireNow(name).finally(() => this.acquiring.delete(name));
      this.acquiring.set(name, pending);
    }
    return pending;
  }

  private async acquireNow(name: N): Promise<number | undefined> {
    const sentAt = this.now();
    const token = await this.options.leases.acquire(name, this.nodeId, this.options.ttlMs);
    if (token <= 0) return undefined;
    this.held.set(name, { token, deadline: sentAt + this.options.ttlMs - this.driftMs });
    // The reply may have come too late to be of use.
    return this.token(name);
  }

  /**
   * The fencing token of a lease held and still within its local deadline, else undefined (a lease
   * found past its deadline is reported lost here). Call it right before acting for the lease.
   */
  token(name: N): number | undefined {
    const held = this.held.get(name);
    if (!held) return undefined;
    if (this.now() > held.deadline) {
      this.lose(name, held, 'expired');
      return undefined;
    }
    return held.token;
  }

  holds(name: N): boolean {
    return this.token(name) !== undefined;
  }

  /** Names of the leases held (not checked against deadlines: use `check` or `token` for that). */
  names(): N[] {
    return [...this.held.keys()];
  }

  /** Local deadline of a held lease, on the table's clock. */
  deadlineOf(name: N): number | undefined {
    return this.held.get(name)?.deadline;
  }

  /** Reports every lease past its local deadline as lost; returns their names. */
  check(): N[] {
    const now = this.now();
    const lost: N[] = [];
    for (const [name, held] of this.held) {
      if (now > held.deadline) {
        this.lose(name, held, 'expired');
        lost.push(name);
      }
    }
    return lost;
  }

  /** Renews every held lease in one pipeline. Refused ones are reported lost. */
  async renewAll(): Promise<void> {
    this.check();
    const items = [...this.held].map(([name, held]) => ({ name, token: held.token, held }));
    if (items.length === 0) return;
    const sentAt = this.now();
    let results: (boolean | Error)[];
    try {
      results = await this.options.leases.renewMany(items, this.nodeId, this.options.ttlMs);
    } catch (error) {
      this.report(error);
      this.check();
      return;
    }
    items.forEach(({ name, held }, i) => {
      // Released or lost meanwhile: the reply is about a lease this table no longer tracks.
      if (this.held.get(name) !== held) return;
      const result = results[i];
      if (result === true) held.deadline = sentAt + this.options.ttlMs - this.driftMs;
      else if (result === false) this.lose(name, held, 'refused');
      else this.report(result);
    });
    this.check();
  }

  /** Gives the lease up (deleting it in Redis only if still ours); true when Redis had it as ours. */
  async release(name: N): Promise<boolean> {
    const held = this.held.get(name);
    if (!held) return false;
    // Forget it first: from here on this node must not act for it, whatever Redis answers.
    this.held.delete(name);
    return this.options.leases.release(name, this.nodeId, held.token);
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.names().map((name) => this.release(name)));
  }

  /** Renews every renewMs until stopped. Deadlines are checked on every tick even while a renewal hangs. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.check();
      if (this.renewing) return;
      this.renewing = this.renewAll()
        .catch((error: unknown) => this.report(error))
        .finally(() => { this.renewing = undefined; });
    }, this.options.renewMs);
  }

  /** Stops renewing (a renewal in flight is awaited). Held leases stay held until their deadlines. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
  }

  private lose(name: N, held: Held, reason: LeaseLoss): void {
    if (this.held.get(name) !== held) return;
    this.held.delete(name);
    try {
      this.options.onLost?.(name, held.token, reason);
    } catch (error) {
      this.report(error);
    }
  }

  private report(error: unknown): void {
    reportTo(this.options.onError, error);
  }
}
