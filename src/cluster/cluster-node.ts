/**
 * One process's part in a clustered runtime. It follows the partition assignment (PartitionOwnership)
 * and has the runtime recover, hand over or drop partitions as their leases come and go; it carries
 * what the runtime sends to partitions owned elsewhere (submits through the partition's inbox,
 * lookups and cancels as calls to the owner's mail) and brings in what other nodes send here.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { OptionsError, TriageError } from '../errors.ts';
import type { PartitionMessage } from '../../actors/partition/messages.ts';
import type { Payload } from '../payload.ts';
import { RedisEngine, type RedisEngineOptions } from '../persistence/redis.ts';
import { ClusterBus } from './bus.ts';
import { FencedError, FencedRedisEngine } from './fenced-journal.ts';
import { compareIds, InboxReader, InboxWriter, type InboxEntry } from './inbox.ts';
import { checkNodeId, partitionOfKey } from './keys.ts';
import type { NodeInfo } from './membership.ts';
import { PartitionOwnership, type PartitionOwner } from './ownership.ts';

export interface ClusterOptions {
  /** The Redis every node shares: a URL or the engine's options (TLS, password, key prefix). */
  readonly redis: string | RedisEngineOptions;
  /** Unique among live nodes and stable across restarts of the same node. Default `<hostname>-<pid>`. */
  readonly nodeId?: string;
  /** How long a partition lease (and a heartbeat) lasts: a dead node's partitions move after this. Default 5,000 ms. */
  readonly leaseTtlMs?: number;
  /** Longest a graceful handover waits for the partition's running payloads. Default 30,000 ms. */
  readonly handoverTimeoutMs?: number;
  /** Longest a lookup or cancel of a payload on another node waits for an owner to answer. Default 10,000 ms. */
  readonly callTimeoutMs?: number;
  /** Shown to the other nodes in the cluster view. */
  readonly adminUrl?: string;
}

export type RemoteOp = 'get' | 'cancel';

/** What the runtime does for the cluster node. */
export interface ClusterHost {
  /** Recovers the partition from snapshot + journal and starts serving it. */
  acquire(partition: number): Promise<void>;
  handOver(partition: number): Promise<void>;
  drop(partition: number): void;
  /** Enqueues payloads another node accepted for this partition; resolves once their entry is stored. */
  deliver(partition: number, payloads: readonly Payload[]): Promise<void>;
  /** Answers a lookup or cancel from the local partition, or undefined when it does not run here. */
  call(partition: number, op: RemoteOp, id: string): Promise<unknown> | undefined;
  /** Delivers a message to the local partition; false when it does not run here. */
  tell(partition: number, message: PartitionMessage): boolean;
  /** Events another node's partitions published. */
  remoteEvents(events: readonly unknown[]): void;
  report(what: string, error: unknown): void;
}

type Mail =
  /** `after`: the caller's last inbox entry for the partition, which the answer must reflect (read your writes). */
  | { readonly k: 'call'; readonly req: string; readonly from: string; readonly partition: number; readonly op: RemoteOp; readonly id: string; readonly after?: string }
  | { readonly k: 'answer'; readonly req: string; readonly ok: boolean; readonly value?: unknown }
  | { readonly k: 'tell'; readonly partition: number; readonly message: PartitionMessage };

/** The payloads of one submit round for a partition, as its inbox carries them. */
interface InboxSubmit {
  readonly payloads: readonly Payload[];
}

export interface ClusterView {
  readonly node: string;
  readonly leader: boolean;
  readonly nodes: readonly NodeInfo[];
  readonly owners: readonly PartitionOwner[];
}

export class ClusterNode {
  readonly nodeId: string;
  readonly engine: FencedRedisEngine;
  readonly leaseTtlMs: number;
  readonly handoverTimeoutMs: number;
  private readonly options: ClusterOptions;
  private readonly redisEngine: RedisEngine;
  private ownershipState: PartitionOwnership | undefined;
  private bus: ClusterBus | undefined;
  private inbox: InboxReader | undefined;
  private writer: InboxWriter | undefined;
  private readonly acquiring = new Map<number, Promise<void>>();
  private readonly serving = new Set<number>();
  private readonly delivering = new Map<number, Promise<void>>();
  private readonly calls = new Map<string, (answer: { ok: boolean; value?: unknown }) => void>();
  private callSeq = 0;
  /** The last inbox entry this node wrote, per partition. */
  private readonly lastSent = new Map<number, string>();
  private host: ClusterHost | undefined;

  constructor(options: ClusterOptions, private readonly partitions: number) {
    const problems = [];
    if (options.redis === undefined) problems.push({ field: 'cluster.redis', problem: 'is required: a URL or the Redis options' });
    if (options.nodeId !== undefined) {
      try {
        checkNodeId(options.nodeId);
      } catch (error) {
        problems.push({ field: 'cluster.nodeId', problem: (error as Error).message });
      }
    }
    for (const field of ['leaseTtlMs', 'handoverTimeoutMs', 'callTimeoutMs'] as const) {
      const value = options[field];
      if (value !== undefined && !(typeof value === 'number' && value >= 50)) problems.push({ field: `cluster.${field}`, problem: 'must be a number of ms ≥ 50' });
    }
    if (problems.length > 0) throw new OptionsError(problems);
    this.options = options;
    this.nodeId = options.nodeId ?? `${hostname().replace(/[^\w.:-]/g, '-')}-${process.pid}`;
    this.leaseTtlMs = options.leaseTtlMs ?? 5_000;
    this.handoverTimeoutMs = options.handoverTimeoutMs ?? 30_000;
    this.redisEngine = new RedisEngine(typeof options.redis === 'string' ? { url: options.redis } : options.redis);
    this.engine = new FencedRedisEngine(this.redisEngine, { requireFence: true });
  }

  /** A journal write the store refused because the partition's lease moved on: drop that partition's writes. */
  static discard(error: unknown): ((key: string) => boolean) | undefined {
    return error instanceof FencedError ? (key) => partitionOfKey(key) === error.partition : undefined;
  }

  get client(): Redis {
    return this.redisEngine.connection;
  }

  get ownership(): PartitionOwnership {
    if (!this.ownershipState) throw new TriageError('CLUSTER_NOT_STARTED', 'the cluster node has not started');
    return this.ownershipState;
  }

  /** Partitions served here now. */
  local(): number[] {
    return [...this.serving].sort((a, b) => a - b);
  }

  /** Joins the cluster (the engine must be connected): reads its mail and events, then takes its partitions. */
  async start(host: ClusterHost): Promise<void> {
    this.host = host;
    const client = this.client;
    const keys = this.engine.keys;
    const onError = (what: string) => (error: unknown) => host.report(what, error);
    this.writer = new InboxWriter(client, keys);
    this.bus = new ClusterBus({
      client, keys, nodeId: this.nodeId,
      onMail: (mail) => this.onMail(mail as Mail),
      onEvents: (events) => host.remoteEvents(events),
      onError: onError('cluster bus'),
    });
    this.inbox = new InboxReader({ client, keys, onBatch: (p, entries) => this.onInbox(p, entries), onError: onError('partition inbox') });
    const ttl = this.leaseTtlMs;
    const ownership = new PartitionOwnership({
      client, keys, nodeId: this.nodeId, partitions: this.partitions,
      leaseTtlMs: ttl, heartbeatMs: Math.max(20, Math.floor(ttl / 5)), renewMs: Math.max(20, Math.floor(ttl / 4)),
      engine: this.engine,
      handoverTimeoutMs: this.handoverTimeoutMs + 5_000,
      beforeRelease: (p) => this.release(p),
      adminUrl: this.options.adminUrl,
      onError: onError('partition ownership'),
    });
    ownership.on('acquired', (p) => this.acquire(p));
    ownership.on('lost', (p, reason) => this.lose(p, reason));
    this.ownershipState = ownership;
    await this.bus.start();
    await this.inbox.start();
    await ownership.start();
  }

  /** Leaves the cluster: with handover, every partition is handed over first (see PartitionSet.handOver). */
  async stop(options: { handover: boolean }): Promise<void> {
    await this.ownershipState?.stop({ handover: options.handover });
    await Promise.all([...this.acquiring.values()]);
    await this.inbox?.stop();
    await this.bus?.stop();
    for (const settle of this.calls.values()) settle({ ok: false });
    this.calls.clear();
  }

  /** Hands payloads to the partition's owner through its inbox; resolves once Redis has them. */
  async send(partition: number, payloads: readonly Payload[]): Promise<void> {
    if (!this.writer) throw new TriageError('CLUSTER_NOT_STARTED', 'the cluster node has not started');
    const submit: InboxSubmit = { payloads };
    const [id] = await this.writer.send(partition, [submit]);
    const last = this.lastSent.get(partition);
    if (id && (!last || compareIds(id, last) > 0)) this.lastSent.set(partition, id);
  }

  /** A message for a partition owned by another node (a coordinator's decision). */
  async tell(partition: number, message: PartitionMessage): Promise<void> {
    const owner = await this.ownership.holder(partition);
    if (owner && owner.node !== this.nodeId) this.bus?.send(owner.node, { k: 'tell', partition, message } satisfies Mail);
    else if (!this.host?.tell(partition, message)) this.host?.report('message for a partition no one serves', new Error(`partition ${partition}: ${message.type}`));
  }

  /**
   * A lookup or cancel on the partition's owner, wherever it is. While the partition changes hands
   * there is no one to answer: the call tries again until `callTimeoutMs`.
   */
  async call(partition: number, op: RemoteOp, id: string): Promise<unknown> {
    const deadline = Date.now() + (this.options.callTimeoutMs ?? 10_000);
    for (let attempt = 1; ; attempt++) {
      const owner = await this.ownership.holder(partition).catch(() => undefined);
      if (owner?.node === this.nodeId) {
        const local = this.serving.has(partition) ? this.caughtUp(partition, this.lastSent.get(partition)).then(() => this.host?.call(partition, op, id)) : undefined;
        if (local) return local;
      } else if (owner) {
        const answer = await this.request(owner.node, partition, op, id, Math.min(2_000, Math.max(50, deadline - Date.now())));
        if (answer.ok) return answer.value;
      }
      if (Date.now() >= deadline) {
        throw new TriageError('CLUSTER_UNREACHABLE', `no node answered for partition ${partition} within ${this.options.callTimeoutMs ?? 10_000} ms`);
      }
      await new Promise((r) => setTimeout(r, Math.min(25 * attempt, 250)));
    }
  }

  /** Publishes an ending event to every other node. */
  publish(event: unknown): void {
    this.bus?.publish(event);
  }

  async view(): Promise<ClusterView> {
    const [nodes, owners] = await Promise.all([this.ownership.live(), this.ownership.ownerView()]);
    return { node: this.nodeId, leader: false, nodes, owners };
  }

  private request(node: string, partition: number, op: RemoteOp, id: string, timeoutMs: number): Promise<{ ok: boolean; value?: unknown }> {
    const req = `${this.nodeId}:${++this.callSeq}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle({ ok: false }), timeoutMs);
      const settle = (answer: { ok: boolean; value?: unknown }) => {
        clearTimeout(timer);
        this.calls.delete(req);
        resolve(answer);
      };
      this.calls.set(req, settle);
      this.bus?.send(node, { k: 'call', req, from: this.nodeId, partition, op, id, after: this.lastSent.get(partition) } satisfies Mail);
    });
  }

  private onMail(mail: Mail): void {
    switch (mail.k) {
      case 'call': {
        if (!this.serving.has(mail.partition)) return this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: false } satisfies Mail);
        this.caughtUp(mail.partition, mail.after).then(() => {
          const local = this.host?.call(mail.partition, mail.op, mail.id);
          if (!local) throw new Error('partition left');
          return local;
        }).then(
          (value) => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: true, value } satisfies Mail),
          () => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: false } satisfies Mail),
        );
        return;
      }
      case 'answer':
        this.calls.get(mail.req)?.({ ok: mail.ok, value: mail.value });
        return;
      case 'tell':
        if (!this.host?.tell(mail.partition, mail.message)) void this.tell(mail.partition, mail.message); // it moved on: pass it along
        return;
    }
  }

  /**
   * Resolves once the partition's inbox has been taken in up to `after` (or after a while regardless):
   * this node's reader got past it, or nothing at or before it is left in the stream (acknowledged,
   * by this node or by an earlier owner).
   */
  private async caughtUp(partition: number, after: string | undefined): Promise<void> {
    if (after === undefined) return;
    const deadline = Date.now() + 1_500;
    for (;;) {
      const cursor = this.inbox?.cursorOf(partition);
      if (cursor === undefined || compareIds(cursor, after) >= 0 || Date.now() > deadline) return;
      const pending = await this.client.xrange(this.engine.keys.inbox(partition), '-', after, 'COUNT', 1).catch(() => [[]]);
      if (pending.length === 0) return;
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  private acquire(partition: number): void {
    const host = this.host;
    if (!host) return;
    const task = host.acquire(partition).then(
      () => {
        this.serving.add(partition);
        this.inbox?.add(partition);
      },
      (error: unknown) => host.report(`recovering partition ${partition}`, error),
    ).finally(() => this.acquiring.delete(partition));
    this.acquiring.set(partition, task);
  }

  private async release(partition: number): Promise<void> {
    await this.acquiring.get(partition);
    this.serving.delete(partition);
    this.inbox?.remove(partition);
    await this.delivering.get(partition);
    await this.host?.handOver(partition);
  }

  private lose(partition: number, reason: string): void {
    this.host?.report(`lost the lease of partition ${partition}`, new Error(reason));
    const drop = () => {
      this.serving.delete(partition);
      this.inbox?.remove(partition);
      this.host?.drop(partition);
    };
    const acquiring = this.acquiring.get(partition);
    if (acquiring) void acquiring.then(drop);
    else drop();
  }

  private onInbox(partition: number, entries: InboxEntry[]): Promise<void> {
    const payloads = entries.flatMap((e) => (e.data as InboxSubmit).payloads ?? []);
    const task = (async () => {
      if (!this.serving.has(partition) || !this.host) throw new Error(`partition ${partition} is not served here`);
      await this.host.deliver(partition, payloads);
      await this.inbox?.ack(partition, entries.at(-1)!.id);
    })();
    const tracked = task.catch(() => {});
    this.delivering.set(partition, tracked);
    void tracked.finally(() => {
      if (this.delivering.get(partition) === tracked) this.delivering.delete(partition);
    });
    return task;
  }
}
