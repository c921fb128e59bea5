/**
 * Which nodes are alive: each node heartbeats into a sorted set scored by the time its heartbeat
 * expires, with its info (pid, admin URL, start time) in a hash beside it. A node that stops
 * heartbeating drops out once its score passes; whoever lists the live set next prunes it.
 *
 * Scores are wall-clock times of the writing node, so nodes' clocks must agree to well within the
 * ttl (NTP does). Membership only steers assignment; the safety of ownership rests on leases, whose
 * expiry Redis measures itself.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { OptionsError } from '../errors.ts';
import { checkNodeId, type ClusterKeys } from './keys.ts';
import { execAll } from './redis-util.ts';
import { MEMBERS_LIVE } from './scripts.ts';

export interface NodeInfo {
  readonly id: string;
  readonly pid: number;
  readonly adminUrl: string | undefined;
  /** Epoch ms at which the node created its Membership. */
  readonly startedAt: number;
  /** Epoch ms at which the node counts as gone unless it heartbeats again. */
  readonly expiresAt: number;
}

export interface MembershipChange {
  readonly joined: readonly string[];
  readonly left: readonly string[];
  /** The whole live set after the change, by expiry. */
  readonly live: readonly NodeInfo[];
}

export interface MembershipOptions {
  readonly client: Redis;
  readonly keys: ClusterKeys;
  readonly nodeId: string;
  /** How often the background loop heartbeats. */
  readonly heartbeatMs: number;
  /** How long a heartbeat keeps the node alive; must exceed heartbeatMs (a few times over is wise). */
  readonly ttlMs: number;
  readonly adminUrl?: string;
  readonly pid?: number;
  /** Checked before each heartbeat of the loop: a process that may not act as its node does not announce it. Default: always. */
  readonly mayHeartbeat?: () => boolean;
  /** Epoch ms. Default Date.now. */
  readonly now?: () => number;
  /** Redis errors of the background loop (the loop goes on). Default: ignored. */
  readonly onError?: (error: unknown) => void;
}

type MembershipRedis = Redis & { triageMembersLive(members: string, info: string, now: string): Promise<(string | null)[]> };

export interface Membership {
  on(event: 'change', listener: (change: MembershipChange) => void): this;
  off(event: 'change', listener: (change: MembershipChange) => void): this;
}

export class Membership extends EventEmitter {
  readonly nodeId: string;
  private readonly client: MembershipRedis;
  private readonly keys: ClusterKeys;
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private info: string;
  private readonly mayHeartbeat: () => boolean;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private tickInFlight: Promise<void> | undefined;
  private lastSeen = new Set<string>();

  constructor(options: MembershipOptions) {
    super();
    const problems = [];
    if (!(options.heartbeatMs > 0)) problems.push({ field: 'heartbeatMs', problem: 'must be > 0' });
    if (!(options.ttlMs > options.heartbeatMs)) problems.push({ field: 'ttlMs', problem: 'must exceed heartbeatMs' });
    if (problems.length > 0) throw new OptionsError(problems);
    this.nodeId = checkNodeId(options.nodeId);
    this.keys = options.keys;
    this.heartbeatMs = options.heartbeatMs;
    this.ttlMs = options.ttlMs;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.mayHeartbeat = options.mayHeartbeat ?? (() => true);
    this.info = JSON.stringify({ pid: options.pid ?? process.pid, adminUrl: options.adminUrl, startedAt: this.now() });
    options.client.defineCommand('triageMembersLive', { numberOfKeys: 2, lua: MEMBERS_LIVE });
    this.client = options.client as MembershipRedis;
  }

  /** Where this node's admin endpoint listens, once it does: written with the next heartbeat. */
  setAdminUrl(adminUrl: string): void {
    const info = JSON.parse(this.info) as Record<string, unknown>;
    this.info = JSON.stringify({ ...info, adminUrl });
  }

  /** Announces this node (same as a heartbeat: it also rewrites the info, in case it was pruned). */
  join(): Promise<void> {
    return this.heartbeat();
  }

  /** Pushes this node's expiry to now + ttl. */
  async heartbeat(): Promise<void> {
    // One transaction: a node is never listed without its info, nor its info kept without it.
    await execAll(this.client.multi().zadd(this.keys.members, this.now() + this.ttlMs, this.nodeId).hset(this.keys.memberInfo, this.nodeId, this.info));
  }

  /** Stops the background loop and removes this node at once, rather than after its ttl. */
  async leave(): Promise<void> {
    await this.stop();
    await execAll(this.client.multi().zrem(this.keys.members, this.nodeId).hdel(this.keys.memberInfo, this.nodeId));
  }

  /** Nodes whose heartbeat has not expired, by expiry; expired ones are removed on the way. */
  async live(): Promise<NodeInfo[]> {
    const flat = await this.client.triageMembersLive(this.keys.members, this.keys.memberInfo, String(this.now()));
    const nodes: NodeInfo[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const id = flat[i]!;
      const info = parseInfo(flat[i + 2]);
      nodes.push({ id, pid: info.pid, adminUrl: info.adminUrl, startedAt: info.startedAt, expiresAt: Number(flat[i + 1]) });
    }
    return nodes;
  }

  /** Joins, then heartbeats every heartbeatMs, emitting 'change' whenever the live set differs from the last one seen. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the loop (waiting for a heartbeat in flight). The node stays listed until its ttl passes. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.tickInFlight;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.tickInFlight = this.tick().finally(() => {
        this.tickInFlight = undefined;
        if (this.running) this.schedule(this.heartbeatMs);
      });
    }, ms);
  }

  private async tick(): Promise<void> {
    if (!this.mayHeartbeat()) return;
    try {
      await this.heartbeat();
      const live = await this.live();
      if (!this.running) return;
      const ids = new Set(live.map((n) => n.id));
      const joined = [...ids].filter((id) => !this.lastSeen.has(id));
      const left = [...this.lastSeen].filter((id) => !ids.has(id));
      this.lastSeen = ids;
      if (joined.length > 0 || left.length > 0) this.emit('change', { joined, left, live } satisfies MembershipChange);
    } catch (error) {
      // A timer has no caller to throw to; the next heartbeat retries.
      this.onError(error);
    }
  }
}

function parseInfo(raw: string | null | undefined): { pid: number; adminUrl: string | undefined; startedAt: number } {
  try {
    const info = JSON.parse(raw ?? '{}') as { pid?: number; adminUrl?: string; startedAt?: number };
    return { pid: info.pid ?? 0, adminUrl: info.adminUrl, startedAt: info.startedAt ?? 0 };
  } catch {
    return { pid: 0, adminUrl: undefined, startedAt: 0 };
  }
}
