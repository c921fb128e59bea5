/**
 * One process's part in a clustered runtime. It follows the partition assignment (PartitionOwnership)
 * and has the runtime recover, hand over or drop partitions as their leases come and go (see
 * served-partitions.ts); it elects the coordinator, keeps the homes (homes.ts), and carries
 * what the runtime sends to partitions owned elsewhere (submits through the partition's inbox,
 * lookups and cancels as calls to the owner's mail) and brings in what other nodes send here.
 */
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { OptionsError, TriageError } from '../errors.ts';
import type { PartitionMessage } from '../../actors/partition/messages.ts';
import type { Payload } from '../payload.ts';
import { RedisEngine } from '../persistence/redis.ts';
import { ClusterRates } from './rate-leases.ts';
import { clusterOptionProblems, type ClusterOptions } from './options.ts';
import { ClusterBus } from './bus.ts';
import { FencedError, FencedRedisEngine } from './fenced-journal.ts';
import { HomeKeeper, type HomeHost, type HomeOwner } from './homes.ts';
import { EventInterest } from './event-interest.ts';
import { InboxWriter } from './inbox.ts';
import { ServedPartitions, type InboxMessage, type RemoteOp, type ServingHost } from './served-partitions.ts';
import { NodeIdentity } from './identity.ts';
import { agreeOnShape } from './shape.ts';
import type { NodeInfo } from './membership.ts';
import { CoordinatorElection } from './election.ts';
import type { ClusterEffect, CoordinationCluster, LeaderMessage } from '../load/coordination.ts';
import type { ProcessLoad } from '../load/sampler.ts';
import { PartitionOwnership, type PartitionOwner } from './ownership.ts';
import { RemoteCalls, type CallMail, type NodeOp } from './remote-calls.ts';
import type { NodeAsker } from './workflow-calls.ts';

export type { ClusterOptions } from './options.ts';
export type { NodeOp } from './remote-calls.ts';

/** What the runtime does for the cluster node: with the partitions served here, and the rest. */
export interface ClusterHost extends ServingHost {
  /** Delivers a message to the local partition; false when it does not run here. */
  tell(partition: number, message: PartitionMessage): boolean;
  /** Answers a question about this node (its actor tree, its pool and partitions). */
  describe(op: NodeOp, arg?: string): unknown;
  /** Events another node's partitions published. */
  remoteEvents(events: readonly unknown[], from: string): void;
  /** Running, checking and stopping homes (this node's own, and those it adopts). */
  readonly homes: HomeHost;
  /** For this node's coordination: a report or ledger change (when it leads), or an effect the leader chose. */
  coordinate(message: CoordinationMail): void;
  /** Sends the ledger entries of this node's partitions to the leader again (a new leader collects them). */
  resendLedger(): void;
}

export type CoordinationMail = LeaderMessage | ClusterEffect;

/** How long a node's reported process load counts for the leader, ms. */
const LOAD_FRESH_MS = 3_000;
/** How often the leader collects every node's ledger again (a message to an old leader may be lost), ms. */
const LEDGER_SYNC_MS = 5_000;

type Mail =
  | { readonly k: 'coord'; readonly message: CoordinationMail }
  | { readonly k: 'load'; readonly from: string; readonly load: ProcessLoad }
  | { readonly k: 'ledger-sync' }
  /** The sender's wanted event types changed: read them again. */
  | { readonly k: 'wants' }
  /** The sender has released a partition that is now this node's. */
  | { readonly k: 'released'; readonly partition: number }
  | CallMail
  | { readonly k: 'tell'; readonly partition: number; readonly message: PartitionMessage };

export interface ClusterView {
  readonly node: string;
  /** The node whose coordinator decides for the cluster, if one is known. */
  readonly leader: string | undefined;
  readonly nodes: readonly NodeInfo[];
  readonly owners: readonly PartitionOwner[];
  /** Every home (a node process's held dependents and workflows) and who runs it. */
  readonly homes: readonly HomeOwner[];
}

export class ClusterNode implements CoordinationCluster, NodeAsker {
  readonly nodeId: string;
  readonly engine: FencedRedisEngine;
  readonly leaseTtlMs: number;
  readonly handoverTimeoutMs: number;
  readonly homeTtlMs: number;
  /** This process's home: where its dependency graph and workflow instances live (see homes.ts). */
  readonly home: string;
  private readonly options: ClusterOptions;
  private readonly redisEngine: RedisEngine;
  private ownershipState: PartitionOwnership | undefined;
  private ratesState: ClusterRates | undefined;
  private bus: ClusterBus | undefined;
  private served: ServedPartitions | undefined;
  private writer: InboxWriter | undefined;
  private readonly owners = new Map<number, { node: string; until: number }>();
  private readonly calls: RemoteCalls;
  private host: ClusterHost | undefined;
  private election: CoordinatorElection | undefined;
  /** The leader as last seen in Redis (refreshed every election round). */
  private leaderId: string | undefined;
  /** Messages for the leader while none is known. */
  private forLeader: CoordinationMail[] = [];
  private readonly loads = new Map<string, { load: ProcessLoad; at: number }>();
  private leaderTimer: ReturnType<typeof setInterval> | undefined;
  private homes: HomeKeeper | undefined;
  /** Which non-ending events to relay to which nodes; see event-interest.ts. */
  readonly interest: EventInterest;
  private identity: NodeIdentity | undefined;
  private adminUrl: string | undefined;
  /** Why this node must stop, found before the runtime's host was there to hear it. */
  private fault: TriageError | undefined;

  constructor(options: ClusterOptions, private readonly partitions: number) {
    const problems = clusterOptionProblems(options);
    if (problems.length > 0) throw new OptionsError(problems);
    this.options = options;
    this.adminUrl = options.adminUrl;
    this.nodeId = options.nodeId ?? `${hostname().replace(/[^\w.:-]/g, '-')}-${process.pid}`;
    this.leaseTtlMs = options.leaseTtlMs ?? 5_000;
    this.homeTtlMs = options.homeTtlMs ?? 3 * this.leaseTtlMs;
    // A home per start of the process: a node that comes back starts afresh, and its last home is adopted.
    this.home = `${this.nodeId}.${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 3).toString(36)}`;
    this.handoverTimeoutMs = options.handoverTimeoutMs ?? 30_000;
    this.redisEngine = new RedisEngine(typeof options.redis === 'string' ? { url: options.redis } : options.redis);
    this.engine = new FencedRedisEngine(this.redisEngine, { requireFence: true });
    this.calls = new RemoteCalls({
      from: this.nodeId,
      bus: () => this.bus,
      holder: (partition) => this.ownership.holder(partition).then((owner) => owner?.node),
      local: (partition, op, id, waitMs) => (this.served?.has(partition) ? this.served.answer(partition, op, id, waitMs).then((value) => ({ value }), () => undefined) : Promise.resolve(undefined)),
      callTimeoutMs: options.callTimeoutMs ?? 10_000,
    });
    this.interest = new EventInterest({
      client: this.redisEngine.connection,
      keys: this.engine.keys,
      nodeId: this.nodeId,
      live: () => this.ownership.live().then((nodes) => nodes.map((n) => n.id)),
      announce: () => this.broadcastMail({ k: 'wants' }),
      report: (what, error) => this.host?.report(what, error),
    });
  }

  /** A journal write the store refused because the partition's (or home's) lease moved on: drop that key's writes. */
  static discard(error: unknown): ((key: string) => boolean) | undefined {
    return error instanceof FencedError ? (key) => key === error.key : undefined;
  }

  get client(): Redis {
    return this.redisEngine.connection;
  }

  /** The cluster's shared buckets of the global and per-type rate limits. */
  get rates(): ClusterRates {
    return (this.ratesState ??= new ClusterRates(this.client, this.engine.keys));
  }

  get ownership(): PartitionOwnership {
    if (!this.ownershipState) throw new TriageError('CLUSTER_NOT_STARTED', 'the cluster node has not started');
    return this.ownershipState;
  }

  /** Whether this node holds the partition's lease by its local deadline; a lapsed one is reported lost now. */
  leased(partition: number): boolean {
    return this.mayAct() && (this.ownershipState?.held(partition) ?? false);
  }

  /**
   * Whether this process may act as its node now: it holds its identity and its own home by its own
   * clock. Checked before anything is started or acquired, so a process that wakes from a pause
   * finds out what it lost before it acts (a lapsed home stops the node, a lapsed identity waits).
   */
  mayAct(): boolean {
    return (this.identity?.held() ?? false) && (this.homes?.holdsOwn() ?? true);
  }

  /**
   * Before anything is read or written for this node: agrees on the cluster's shape (refused with
   * `CLUSTER_SHAPE_MISMATCH`) and takes the node's identity (refused with `NODE_ID_IN_USE`). The
   * engine must be connected.
   */
  async claim(): Promise<void> {
    await agreeOnShape(this.client, this.engine.keys, this.partitions);
    const identity = new NodeIdentity({
      client: this.client,
      keys: this.engine.keys,
      nodeId: this.nodeId,
      incarnation: this.home,
      ttlMs: this.leaseTtlMs,
      takenOver: (fault) => {
        this.fault = fault;
        this.host?.homes.halt(fault);
      },
      regained: () => this.ownershipState?.retry(),
      onError: (error) => this.host?.report('node identity', error),
    });
    await identity.claim();
    this.identity = identity;
  }

  /** Partitions served here now. */
  local(): number[] {
    return this.served?.list() ?? [];
  }

  /** Joins the cluster (the engine must be connected): reads its mail and events, then takes its partitions. */
  async start(host: ClusterHost): Promise<void> {
    if (!this.identity) await this.claim();
    if (this.fault) throw this.fault;
    this.host = host;
    const client = this.client;
    const keys = this.engine.keys;
    const onError = (what: string) => (error: unknown) => host.report(what, error);
    this.writer = new InboxWriter(client, keys);
    this.bus = new ClusterBus({
      client, keys, nodeId: this.nodeId,
      onMail: (mail) => this.onMail(mail as Mail),
      onEvents: (events, from) => host.remoteEvents(events, from),
      onError: onError('cluster bus'),
    });
    const served = new ServedPartitions({ client, keys, host, interest: this.interest, owns: (p) => this.ownership.owned().has(p) });
    this.served = served;
    const ttl = this.leaseTtlMs;
    const ownership = new PartitionOwnership({
      client, keys, nodeId: this.nodeId, partitions: this.partitions,
      leaseTtlMs: ttl, heartbeatMs: Math.max(20, Math.floor(ttl / 5)), renewMs: Math.max(20, Math.floor(ttl / 4)),
      engine: this.engine,
      handoverTimeoutMs: this.handoverTimeoutMs + 5_000,
      beforeRelease: (p) => served.release(p),
      mayAct: () => this.mayAct(),
      adminUrl: this.adminUrl,
      onError: onError('partition ownership'),
    });
    const election = new CoordinatorElection({
      client, keys, nodeId: this.nodeId, ttlMs: ttl, roundMs: Math.max(20, Math.floor(ttl / 4)), onError: onError('coordinator election'),
    });
    election.on('elected', () => {
      this.leaderId = this.nodeId;
      this.syncLedgers();
    });
    this.election = election;
    ownership.on('acquired', (p) => served.acquire(p));
    ownership.on('lost', (p, reason) => served.lose(p, reason));
    // The node taking a released partition over hears of it at once, instead of at its next reconcile tick.
    ownership.on('released', (p) => {
      const next = ownership.assignee(p);
      if (next !== undefined && next !== this.nodeId) this.bus?.send(next, { k: 'released', partition: p } satisfies Mail);
    });
    this.ownershipState = ownership;
    const homes = new HomeKeeper({ client, keys, engine: this.engine, nodeId: this.nodeId, home: this.home, ttlMs: this.homeTtlMs, host: host.homes });
    this.homes = homes;
    await this.bus.start();
    await served.start();
    // Before anything can be written to the home (a submit with dependencies, a workflow start).
    await homes.start();
    await ownership.start();
    await this.interest.start();
    election.start();
    // Who leads, for the reports and ledger changes of the nodes that do not; a leader also collects
    // the ledgers again now and then, since what was sent to a former leader is gone with it.
    let sinceSync = 0;
    this.leaderTimer = setInterval(() => {
      void election.leader().then((holder) => {
        this.leaderId = holder?.node;
        if (holder && this.forLeader.length > 0) for (const message of this.forLeader.splice(0)) this.toLeader(message);
      }, onError('coordinator election'));
      void homes.tick(this.leads());
      void this.interest.refresh();
      sinceSync += ttl / 2;
      if (this.leads() && sinceSync >= LEDGER_SYNC_MS) {
        sinceSync = 0;
        this.syncLedgers();
      }
    }, Math.max(20, Math.floor(ttl / 2)));
    this.leaderTimer.unref();
  }

  leads(): boolean {
    return this.election?.isLeader() === true;
  }

  /** The leader's node id as last seen (this node's own when it leads). */
  leader(): string | undefined {
    return this.leads() ? this.nodeId : this.leaderId;
  }

  toLeader(message: CoordinationMail): void {
    const leader = this.leader();
    if (leader === this.nodeId) this.host?.coordinate(message);
    else if (leader !== undefined) this.bus?.send(leader, { k: 'coord', message } satisfies Mail);
    else if (this.forLeader.length < 10_000) this.forLeader.push(message);
  }

  broadcast(effect: ClusterEffect): void {
    this.broadcastMail({ k: 'coord', message: effect });
  }

  private broadcastMail(mail: Mail): void {
    void this.ownership.live().then((nodes) => {
      for (const node of nodes) if (node.id !== this.nodeId) this.bus?.send(node.id, mail);
    }, (error: unknown) => this.host?.report('cluster broadcast', error));
  }

  remoteLoads(): ProcessLoad[] {
    const fresh = Date.now() - LOAD_FRESH_MS;
    return [...this.loads.values()].filter((l) => l.at >= fresh).map((l) => l.load);
  }

  reportLoad(load: ProcessLoad): void {
    const leader = this.leader();
    if (leader !== undefined && leader !== this.nodeId) this.bus?.send(leader, { k: 'load', from: this.nodeId, load } satisfies Mail);
  }

  /** Every node (this one too) sends its partitions' ledger entries to this node, the new leader. */
  private syncLedgers(): void {
    this.host?.resendLedger();
    this.broadcastMail({ k: 'ledger-sync' });
  }

  /** Leaves the cluster: with handover, every partition is handed over first (see PartitionSet.handOver). */
  async stop(options: { handover: boolean }): Promise<void> {
    if (this.leaderTimer) clearInterval(this.leaderTimer);
    // Another process is this node now: its partitions and its place in the live set are not this one's to give up.
    const handover = options.handover && this.identity?.takenOver !== true;
    if (handover) await this.election?.resign().catch((error: unknown) => this.host?.report('resigning as coordinator', error));
    else await this.election?.stop();
    await this.ownershipState?.stop({ handover });
    await this.served?.recovered();
    // After the partitions: their last events may still move dependents and workflow steps on.
    await this.homes?.stop(options);
    await this.interest.stop();
    await this.served?.stop();
    await this.bus?.stop();
    this.calls.failAll();
    // Last: a restart under the same id need not wait for the lease to run out.
    await this.identity?.stop({ release: handover });
  }

  /** Hands payloads to the partition's owner through its inbox; resolves once Redis has them. */
  async send(partition: number, payloads: readonly Payload[]): Promise<void> {
    if (!this.writer) throw new TriageError('CLUSTER_NOT_STARTED', 'the cluster node has not started');
    // The owner learns what this node's listeners want before it takes the payloads in.
    await this.interest.shared;
    const wants = this.interest.local;
    const submit: InboxMessage = wants.length > 0 ? { payloads, wants } : { payloads };
    await this.writer.send(partition, [submit]);
  }

  /** Where this node's admin endpoint listens, for the cluster view of every node (before start, or any time after). */
  announceAdminUrl(adminUrl: string): void {
    this.adminUrl = adminUrl;
    this.ownershipState?.setAdminUrl(adminUrl);
  }

  /** The live nodes, this one among them. */
  liveNodes(): Promise<NodeInfo[]> {
    return this.ownership.live();
  }

  /** The node that runs a home now (its lease holder), or undefined while no node holds it. */
  async homeHolder(home: string): Promise<string | undefined> {
    return this.homes?.holder(home);
  }

  /** A message for a partition owned by another node (a coordinator's decision, a report request). */
  async tell(partition: number, message: PartitionMessage): Promise<void> {
    const owner = await this.ownerOf(partition);
    if (owner && owner !== this.nodeId) this.bus?.send(owner, { k: 'tell', partition, message } satisfies Mail);
    // A report request for a partition between owners is simply not answered: the round goes without it.
    else if (!this.host?.tell(partition, message) && message.type !== 'report') this.host?.report('message for a partition no one serves', new Error(`partition ${partition}: ${message.type}`));
  }

  /** A lookup or cancel on the partition's owner, wherever it is (see RemoteCalls.call). */
  call(partition: number, op: RemoteOp, id: string): Promise<unknown> {
    return this.calls.call(partition, op, id);
  }

  /**
   * The partition's lease holder, remembered for a quarter of the lease ttl: a coordinator round
   * tells every partition something, and a stale answer only sends a message the old owner passes on.
   */
  private async ownerOf(partition: number): Promise<string | undefined> {
    const known = this.owners.get(partition);
    if (known && known.until > Date.now()) return known.node;
    const holder = await this.ownership.holder(partition);
    if (holder) this.owners.set(partition, { node: holder.node, until: Date.now() + this.leaseTtlMs / 4 });
    else this.owners.delete(partition);
    return holder?.node;
  }

  /** Publishes an ending event to every other node. */
  publish(event: unknown): void {
    this.bus?.publish(event);
  }

  async view(): Promise<ClusterView> {
    const [nodes, owners, homes] = await Promise.all([this.ownership.live(), this.ownership.ownerView(), this.homes?.view() ?? []]);
    return { node: this.nodeId, leader: this.leader(), nodes, owners, homes };
  }

  /** Asks node `node` about itself (its own answer when it is this node); rejects after `timeoutMs`. */
  async askNode(node: string, op: NodeOp, timeoutMs = 2_000, arg?: string): Promise<unknown> {
    if (node === this.nodeId) return this.host?.describe(op, arg);
    return this.calls.askNode(node, op, timeoutMs, arg);
  }

  private onMail(mail: Mail): void {
    switch (mail.k) {
      case 'call': {
        const served = this.served;
        if (!served?.has(mail.partition)) return this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: false } satisfies Mail);
        // Not longer than the caller waits for one answer: it asks again.
        served.answer(mail.partition, mail.op, mail.id, 1_500).then(
          (value) => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: true, value } satisfies Mail),
          () => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: false } satisfies Mail),
        );
        return;
      }
      case 'ask-node': {
        // An answer may take a while (a cancel goes through the instance's actor).
        Promise.resolve()
          .then(() => this.host?.describe(mail.op, mail.arg))
          .then(
            (value) => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: true, value } satisfies Mail),
            () => this.bus?.send(mail.from, { k: 'answer', req: mail.req, ok: false } satisfies Mail),
          );
        return;
      }
      case 'answer':
        this.calls.answered(mail);
        return;
      case 'coord':
        this.host?.coordinate(mail.message);
        return;
      case 'load':
        this.loads.set(mail.from, { load: mail.load, at: Date.now() });
        return;
      case 'ledger-sync':
        this.host?.resendLedger();
        return;
      case 'wants':
        void this.interest.refresh();
        return;
      case 'released':
        this.ownership.retry();
        return;
      case 'tell':
        if (!this.host?.tell(mail.partition, mail.message)) void this.tell(mail.partition, mail.message); // it moved on: pass it along
        return;
    }
  }

  /** Read your writes on a partition served here: see ServedPartitions.inboxTakenIn. */
  inboxTakenIn(partition: number): Promise<void> {
    if (!this.served) return Promise.resolve();
    return this.served.inboxTakenIn(partition, this.options.callTimeoutMs ?? 10_000);
  }
}
