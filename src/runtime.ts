/**
 * The public entry point: `createRuntime(options)` builds the actor tree (P partition actors and
 * the execution pool) on the embedded default and returns the API clients use.
 */
import { partitionStats, type PartitionStats } from '../actors/partition/state.ts';
import type { CancelResult, PartitionMessage } from '../actors/partition/messages.ts';
import type { HandlerPolicy, PartitionEnv } from '../actors/partition/reducer.ts';
import { ActorSystem, type ActorInfo } from './core/actor-system.ts';
import { PartitionSet, type RecoveredPartition } from './runtime/partition-set.ts';
import { ClusterNode } from './cluster/cluster-node.ts';
import { cancelWorkflowElsewhere, clusterHost, startForClient, homesHost, workflowElsewhere, type ClusterHostDeps } from './runtime/cluster-host.ts';
import { Durability } from './persistence/durability.ts';
import { Waiters } from './runtime/waiters.ts';
import { SubmitBatcher } from './runtime/submit-batcher.ts';
import { PartitionRouter } from './runtime/partition-router.ts';
import { BootGate } from './runtime/boot-gate.ts';
import { Submissions } from './runtime/submissions.ts';
import { handlerProblems } from './runtime/handler-options.ts';
import { MemoryEngine } from './persistence/memory.ts';
import { RedisEngine } from './persistence/redis.ts';
import { partitionOfId } from './core/ids.ts';
import { OptionsError, StoreUnavailableError, RuntimeStoppedError, TriageError } from './errors.ts';
import { EventHub, type Listener, type PayloadEvent, type PayloadEventType } from './events.ts';
import { stderrLogger, type Handler, type HandlerOptions, type Logger } from './execution/handlers.ts';
import { ExecutionPool } from './execution/pool.ts';
import type { PoolStats } from './execution/pool-host.ts';
import type { SlotStats } from './execution/slots.ts';
import { compileBackoff, type CompiledOptions } from './options.ts';
import type { FairnessOptions, FairnessView } from './fairness.ts';
import type { LimitsOptions } from './limits/rules.ts';
import { limitsView, type LimitsView } from './runtime/limits-view.ts';
import type { PayloadInput, PayloadView } from './payload.ts';
import { chooseSampler, Coordination } from './load/coordination.ts';
import type { CoordinatorApi } from '../actors/coordinator/actor.ts';
import type { ComplexitySuggestion } from '../actors/complexity/actor.ts';
import { AdminHandle } from './admin/handle.ts';
import type { PayloadInspector } from './admin/payload-views.ts';
import { RuntimeMetrics, type MetricsOptions } from './metrics/runtime-metrics.ts';
import type { DependencyGraph } from '../actors/dependency-graph/actor.ts';
import { recoverSnapshotOnly } from './persistence/actor-recovery.ts';
import { HomeBuilder } from './runtime/home-parts.ts';
import { decodeCoordinator, encodeCoordinator } from '../actors/coordinator/codec.ts';
import { Ledger } from '../actors/coordinator/ledger.ts';
import type { CoordinatorState } from '../actors/coordinator/state.ts';
import { decodeComplexity, encodeComplexity } from '../actors/complexity/codec.ts';
import type { Workflows } from '../actors/workflow/manager.ts';
import { workflowAdminSource } from '../actors/workflow/admin-source.ts';
import { AdoptedHomes } from './runtime/adopted-homes.ts';
import type { HomeHost } from './cluster/homes.ts';
import type { Scheduler } from '../actors/schedule/actor.ts';
import { buildScheduler, type Schedules } from './runtime/schedules.ts';
import { Pauses, type PauseTarget, type PauseView } from './runtime/pauses.ts';
import { deadLetterStoreOf, DeadLetters, type FailedPage, type FailedQuery, type RetryFilter } from './runtime/dead-letters.ts';
import { compileCreateOptions, type CreateRuntimeOptions } from './runtime/create-options.ts';
import { unknownFields, type KnownFields } from './known-fields.ts';

/** Persistence keys of the actors that are neither partitions nor a home's (src/runtime/home-parts.ts). */
const COORDINATOR_KEY = 'coordinator';
const COMPLEXITY_KEY = 'complexity';

export type { CreateRuntimeOptions } from './runtime/create-options.ts';

/** Events after which a payload never runs again: dependents and workflow steps wait for these. */
const ENDING_EVENTS: ReadonlySet<PayloadEventType> = new Set(['completed', 'failed', 'cancelled', 'skipped', 'expired']);

export interface StopOptions {
  /**
   * Finish queued and running payloads, retries, and payloads skipped into the ledger (once load
   * lets them be rescheduled; not while the level is pinned) before stopping; payloads scheduled
   * for later (`runAt`/`delay`) are left. Default false: running payloads are aborted.
   */
  readonly drain?: boolean;
}

const STOP_FIELDS = { drain: true } as const satisfies KnownFields<StopOptions>;

export interface ClientEvents {
  on(type: PayloadEventType | '*', listener: Listener): () => void;
}

interface RegisteredHandler {
  readonly fn: Handler;
  readonly options: HandlerOptions;
  readonly policy: HandlerPolicy;
}


export type RuntimeStatus = 'running' | 'stopping' | 'stopped';

export interface RuntimeStats {
  readonly status: RuntimeStatus;
  readonly pool: PoolStats;
  readonly partitions: readonly PartitionStats[];
}

export class Runtime {
  readonly options: CompiledOptions;
  readonly events: EventHub;
  private readonly logger: Logger;
  private readonly system: ActorSystem;
  private readonly pool: ExecutionPool;
  /** Load-aware coordination: coordinator, complexity analyzer, boost rules, throttle (src/load). */
  private readonly coordination: Coordination;
  private readonly partitions: PartitionSet;
  /** This process's part in a cluster; undefined when embedded. */
  readonly cluster: ClusterNode | undefined;
  private readonly handlers = new Map<string, RegisteredHandler>();
  private readonly waiters = new Waiters();
  private readonly router: PartitionRouter;
  private readonly batcher: SubmitBatcher;
  private readonly submissions: Submissions;
  private status: RuntimeStatus = 'running';
  /** Stopping with drain. */
  private draining = false;
  /** Why the runtime stopped on its own, if it did (a cluster node that lost its home). */
  private fault: Error | undefined;
  private markStopped!: () => void;
  private readonly stoppedPromise = new Promise<void>((resolve) => { this.markStopped = resolve; });
  /** Workflow instances: start, waitFor, cancel, get, list, events. */
  readonly workflows: Workflows;
  /** Holds payloads with `dependsOn` until their dependencies end; others never pass through it. */
  private readonly graph: DependencyGraph;
  private readonly homes: HomeBuilder;
  /** In a cluster: the homes of dead nodes run here (their held dependents and workflow instances). */
  private readonly adopted: AdoptedHomes;
  /** Recurring payloads (cron or every), fired once per tick across a cluster and across restarts. */
  readonly schedules: Schedules;
  private readonly scheduler: Scheduler;
  private readonly deadLetters: DeadLetters;
  private readonly pauses = new Pauses(
    () => this.pool.pausesChanged(),
    (clients) => {
      for (const handle of this.partitions.local()) handle.ref.dispatch({ type: 'hold', clients });
    },
  );
  private readonly metricsOptions: MetricsOptions | undefined;
  private metricsState: RuntimeMetrics | undefined;
  private adminState: AdminHandle | undefined;
  private readonly durability: Durability;
  private readonly snapshotIntervalMs: number;
  private readonly booted: Promise<void>;
  private isBooted = false;
  private readonly bootGate = new BootGate({ booted: () => this.booted, isBooted: () => this.isBooted, unreachable: () => this.durability.unreachable });
  /** What the last boot recovered: records, payloads run again (they were running), payloads waiting in the ledger, time taken. */
  recovery: { records: number; rerun: number; deferred: number; durationMs: number } | undefined;

  constructor(raw: CreateRuntimeOptions = {}) {
    // Every option is checked before anything is built: a refused runtime leaves nothing behind.
    const checked = compileCreateOptions(raw);
    this.options = checked.options;
    this.logger = raw.logger ?? stderrLogger;
    this.events = new EventHub((error, event) => this.logger.error('event listener threw', { event: event.type, error: String(error) }));
    this.metricsOptions = raw.metrics;
    if (raw.metrics) void this.metrics;
    this.system = new ActorSystem(this.options.name, {
      onDeadLetter: (path, message) => this.logger.warn('message to a stopped actor', { path, message: (message as { type?: string }).type }),
      onFault: (path, error) => this.logger.error('actor fault; state kept, message dropped', { path, error: String(error) }),
    });
    this.cluster = raw.cluster ? new ClusterNode(raw.cluster, this.options.partitions) : undefined;
    const interest = this.cluster?.interest;
    // Listeners on this node want events of other nodes' partitions too (ending events travel anyway).
    if (interest) this.events.onInterest(() => interest.want(this.events.relayedTypes().filter((type) => !ENDING_EVENTS.has(type))));
    const sampler = chooseSampler(this.options);
    this.router = new PartitionRouter(this.logger, this.cluster);
    this.batcher = new SubmitBatcher(this.router, () => this.isBooted, () => this.coordination.poke());
    this.pool = new ExecutionPool({
      options: this.options,
      clock: this.options.clock,
      logger: this.logger,
      handlerOf: (type) => this.handlers.get(type),
      partitions: this.router,
      costSource: sampler,
      onStuck: (report) => this.events.emitSystem('pool.stuck', report),
      paused: (type) => this.pauses.held(type),
    });
    this.coordination = new Coordination({
      options: this.options,
      system: this.system,
      logger: this.logger,
      events: this.events,
      pool: this.pool,
      sampler,
      dispatch: (partition, message) => this.router.send(partition, message),
      partitionStates: () => this.partitions.states(),
      cluster: this.cluster,
    });
    const env: PartitionEnv = {
      options: this.options,
      load: this.coordination.partitionLoad,
      now: () => this.options.clock.now(),
      policyOf: (type) => this.handlers.get(type)?.policy ?? this.defaultPolicy,
      // Ending events of ids that dependents or workflow steps wait on, and a schedule firing's start, are built even when no one else listens.
      observed: (type, id) =>
        (this.cluster !== undefined && (ENDING_EVENTS.has(type) || this.cluster.interest.relays(type))) || this.events.observes(type) || (this.waiters.size > 0 && this.waiters.has(id)) || (ENDING_EVENTS.has(type) && (this.graph.watches(id) || this.workflows.watches(id))) || (type === 'started' && this.scheduler.watchesStart(id)),
    };
    const engine = this.cluster?.engine ?? raw.persistence ?? (raw.redis === undefined ? new MemoryEngine() : new RedisEngine(typeof raw.redis === 'string' ? { url: raw.redis } : raw.redis));
    this.snapshotIntervalMs = checked.snapshotIntervalMs;
    this.durability = new Durability(engine, this.options.clock, this.logger, checked.snapshotEvery, raw.persistence === undefined, this.cluster && ClusterNode.discard);
    this.submissions = new Submissions({
      options: this.options,
      batcher: this.batcher,
      budget: this.system.budget,
      hasHandler: (type) => this.handlers.has(type),
      idsFromKeys: this.cluster !== undefined,
      refusal: () => (this.status !== 'running' ? new RuntimeStoppedError() : this.durability.refusal()),
      // The graph takes registrations once it holds what recovery gave back.
      // A registration whose entry the store has not taken by the time the runtime stops never will: answered then.
      register: (batch) => this.untilStopped(this.isBooted ? this.graph.submit(batch) : this.ready().then(() => this.graph.submit(batch))),
    });
    ({ scheduler: this.scheduler, api: this.schedules } = buildScheduler({
      engine,
      clustered: this.cluster !== undefined,
      clock: this.options.clock,
      logger: this.logger,
      events: this.events,
      ready: () => this.ready(),
      submit: (input) => this.submit(input),
      submitValidated: (valids) => this.submissions.submitValidated(valids),
      status: (id) => this.get(id).then((view) => view?.status),
      cancel: (id) => this.cancel(id),
      leadMs: checked.scheduleLeadMs,
      validation: () => ({ hasHandler: (type) => this.handlers.has(type), maxDataBytes: this.options.maxDataBytes, now: this.options.clock.now() }),
    }));
    const deadLetterMax = checked.deadLetterMax;
    this.deadLetters = new DeadLetters({
      events: this.events,
      logger: this.logger,
      record: (partition, id) => this.partitions.get(partition)?.state().records.get(id),
      revive: (partition, letters) => {
        const local = this.partitions.get(partition);
        return local && new Promise((resolve) => local.ref.dispatch({ type: 'revive', letters, reply: resolve }));
      },
    }, deadLetterStoreOf(engine, deadLetterMax), deadLetterMax);
    this.deadLetters.start();
    this.homes = this.homeBuilder();
    this.graph = this.homes.graph();
    this.workflows = this.homes.workflows();
    this.adopted = new AdoptedHomes((home, definitions) => this.homes.adopt(home, definitions), () => this.workflows.registered());
    this.partitions = new PartitionSet({
      system: this.system,
      pool: this.pool,
      durability: this.durability,
      journaled: this.cluster !== undefined || raw.persistence !== undefined || raw.redis !== undefined,
      ...(this.cluster ? { remote: (partition: number) => this.partitions.get(partition) === undefined, leased: (partition: number) => this.cluster!.leased(partition) } : {}),
      wiring: { env, publish: (event) => this.publish(event), coordination: this.coordination.partitionWiring },
      spawned: (handle) => {
        const clients = this.pauses.clientHolds();
        if (clients.length > 0) handle.ref.dispatch({ type: 'hold', clients });
      },
    });
    this.router.connect(this.partitions, this.pool);
    this.options.limits.attach({
      clock: this.options.clock,
      random: this.options.random,
      wake: (partition, scopes) => this.partitions.get(partition)?.ref.dispatch({ type: 'unpark', scopes }),
      // In a cluster the global and per-type rates hold for the cluster as a whole.
      ...(this.cluster ? { rates: this.cluster.rates, onLeaseError: (error: unknown) => this.logger.warn('rate limit lease failed', { error: String(error) }) } : {}),
    });
    this.booted = this.boot();
    this.booted.catch((error: unknown) => {
      // Submits that waited for the boot are answered, not left pending.
      this.batcher.refuseAll(error instanceof TriageError ? error : new StoreUnavailableError(error));
      if (!(error instanceof RuntimeStoppedError)) this.logger.error('recovery failed; the runtime refuses work', { error: String(error) });
    });
  }

  /**
   * Connects the store, rebuilds every partition, the dependency graph and workflow instances from
   * snapshot + journal and the coordinator and analyzer from their snapshots, then starts them.
   */
  private async boot(): Promise<void> {
    const { budget } = this.system;
    // In turns of the engine's own, each within the turn budget, not in `createRuntime`'s caller's.
    await budget.turnAfter();
    const started = this.options.clock.now();
    // An unreachable store is tried again until it answers; meanwhile callers are refused at once.
    const away = (error: StoreUnavailableError): void => {
      this.batcher.refuseAll(error);
      this.bootGate.refuseWaiting(error);
    };
    await this.durability.connect(away);
    // Before anything is read for this node: a second process with a live node's id, or a node of another shape, stops here.
    await this.cluster?.claim();
    const timing = { clock: this.options.clock, intervalMs: this.snapshotIntervalMs };
    // Reads only, so a store that goes away meanwhile is waited for and they run again.
    const [loaded, [[graph, workflows], coordinator, complexity]] = await this.durability.readAtBoot(() => Promise.all([
      // Embedded, every partition is this process's; in a cluster, partitions arrive as their leases do.
      this.cluster ? [] : Promise.all(Array.from({ length: this.options.partitions }, (_, index) => this.partitions.load(index))),
      Promise.all([
        this.homes.load(this.cluster?.home, this.cluster !== undefined),
        // The ledger and the partitions' reports stay out of the coordinator's snapshot: the ledger is
        // rebuilt from the partitions' records, and at critical load it can hold a million entries.
        recoverSnapshotOnly(this.durability, timing, this.actorKey(COORDINATOR_KEY), decodeCoordinator, (state: CoordinatorState) => encodeCoordinator({ ...state, ledger: new Ledger(), reports: [] })),
        recoverSnapshotOnly(this.durability, timing, this.actorKey(COMPLEXITY_KEY), decodeComplexity, encodeComplexity),
      ]),
    ]), away);
    this.graph.start(graph.state, graph.journal);
    const recovered: RecoveredPartition[] = [];
    for (const partition of loaded) {
      if (!budget.hasTime()) await budget.turnAfter();
      recovered.push(this.partitions.spawn(partition));
    }
    this.recovery = {
      records: recovered.reduce((n, r) => n + r.records, 0),
      rerun: recovered.reduce((n, r) => n + r.rerun, 0),
      deferred: recovered.reduce((n, r) => n + r.deferred, 0),
      durationMs: this.options.clock.now() - started,
    };
    if (this.recovery.rerun > 0) this.logger.warn('payloads that were running when the process stopped run again', { rerun: this.recovery.rerun });
    this.coordination.restore(coordinator, complexity);
    this.coordination.recoverLedger(this.partitions.states());
    // The restored level and pin are in force before the first submit is admitted.
    await this.coordination.settled();
    if (this.cluster) await this.cluster.start(clusterHost(this.clusterHostDeps()));
    await this.scheduler.load();
    this.isBooted = true;
    this.graph.resync();
    this.workflows.recover(workflows.state, workflows.journal);
    this.batcher.flush();
    this.scheduler.start();
  }

  /** The graph and workflows of a home, on this runtime's wiring. */
  private homeBuilder(): HomeBuilder {
    return new HomeBuilder({
      durability: this.durability,
      retainTerminal: this.options.retainTerminal,
      logger: this.logger,
      graph: {
        system: this.system,
        env: { now: () => this.options.clock.now(), retainTerminal: this.options.retainTerminal },
        logger: this.logger,
        dispatchEnqueue: (partition, batch) => this.router.enqueue(partition, this.waiters.rereadDuplicates(batch, (id) => this.get(id))),
        enqueue: (partition, payload, settle) => this.batcher.add(partition, payload, settle),
        lookup: (id) => this.ready().then(() => this.ask<PayloadView | undefined>(id, (reply) => ({ type: 'get', id, reply }), undefined)),
        publish: (event) => this.publish(event),
        retryLater: (ms, fn) => void this.options.clock.setTimer(ms, fn),
      },
      workflows: {
        system: this.system,
        clock: this.options.clock,
        logger: this.logger,
        retainFinished: this.options.retainTerminal,
        submit: (input) => this.submissions.submitTracked(input),
        cancel: (id) => this.cancel(id),
        hasHandler: (type) => this.handlers.has(type),
        isRunning: () => this.status === 'running',
        storeRefusal: () => this.durability.refusal(),
        ready: () => this.ready(),
        lookup: (id) => this.get(id),
        ...(this.cluster
          ? { home: this.cluster.home, elsewhere: (id: string) => workflowElsewhere(this.cluster!, this.adopted, id), cancelElsewhere: (id: string) => cancelWorkflowElsewhere(this.cluster!, this.adopted, id) }
          : {}),
      },
    });
  }

  /**
   * Resolves once the runtime has recovered its state and accepts work; rejects if recovery failed,
   * and at once with StoreUnavailableError while the durable store cannot be reached (the runtime
   * keeps trying to connect: a later call resolves once it has).
   */
  ready(): Promise<void> {
    return this.bootGate.ready();
  }

  /** `promise`, or RuntimeStoppedError once the runtime has stopped if it has not settled by then. */
  private untilStopped<T>(promise: Promise<T>): Promise<T> {
    return Promise.race([promise, this.stoppedPromise.then((): never => { throw new RuntimeStoppedError(); })]);
  }


  /** Snapshots every partition now (e.g. before a planned restart, so recovery replays nothing). */
  async snapshotNow(): Promise<void> {
    await this.booted;
    await this.durability.writer.whenFlushed();
    await Promise.all([...this.partitions.local().map((p) => p.snapshotNow()), this.graph.snapshotNow(), this.workflows.snapshotNow(), this.coordination.flushSnapshots()]);
  }

  /** The durable store's health and counters. */
  get store(): Durability {
    return this.durability;
  }

  private get defaultPolicy(): HandlerPolicy {
    return { timeout: this.options.timeout, retries: this.options.retries, backoff: this.options.backoff };
  }

  /** Registers the handler for a payload type. */
  handle<D = unknown, R = unknown>(type: string, fn: Handler<D, R>, options: HandlerOptions = {}): this {
    const problems = handlerProblems(type, fn, options);
    if (problems.length > 0) throw new OptionsError(problems);
    if (this.handlers.has(type)) throw new TriageError('HANDLER_EXISTS', `a handler for ${JSON.stringify(type)} is already registered`);
    const policy: HandlerPolicy = {
      timeout: options.timeout ?? this.options.timeout,
      retries: options.retries ?? this.options.retries,
      backoff: compileBackoff(options.backoff, this.options.backoff),
    };
    this.handlers.set(type, { fn: fn as Handler, options, policy });
    return this;
  }

  /** Validates and enqueues one payload; resolves with its id once accepted. */
  submit<D>(input: PayloadInput<D>): Promise<string> {
    return this.submissions.submit(input);
  }

  /**
   * Validates all payloads first (every problem of every payload in one ValidationError, nothing
   * enqueued), then sends one message per partition. Resolves with the ids in input order.
   * If a partition is full, rejects with a QueueFullError whose `accepted` lists the ids that were.
   */
  submitMany<D>(inputs: readonly PayloadInput<D>[]): Promise<string[]> {
    return this.submissions.submitMany(inputs);
  }

  /** Cancels a queued, delayed or running payload. Resolves false if it had already finished. */
  async cancel(id: string): Promise<boolean> {
    if (!this.isBooted) await this.booted;
    const holder = this.graph.holds(id) ? this.graph : this.adopted.holder(id);
    if (holder && (await holder.cancel(id))) return true;
    const result = await this.ask<CancelResult>(id, (reply) => ({ type: 'cancel', id, reply }), 'unknown');
    return result === 'cancelled';
  }

  /**
   * Stops starting payloads of a handler type, of a client (`clientId`, with `type` only that
   * type), or (without either) of every type: queued ones stay queued and counted, running ones
   * finish, nothing is failed. On this process (in a cluster, on this node's partitions).
   */
  pause(target?: PauseTarget): PauseView {
    return this.pauses.pause(target);
  }

  /** Lifts a pause of `pause(target)`; what it held starts at once. */
  resume(target?: PauseTarget): PauseView {
    return this.pauses.resume(target);
  }

  /** What is paused now. */
  paused(): PauseView {
    return this.pauses.view();
  }

  /**
   * Replaces the client weights of fair sharing (and the default weight, when given): from the
   * next payload served, each tier is shared between waiting clients in proportion to them.
   * Throws OptionsError (and changes nothing) for a bad weight or an unknown field. On this process
   * (in a cluster, each node sets its own).
   */
  setFairness(fairness: FairnessOptions): FairnessView {
    this.options.fairness.set(fairness);
    return this.fairness();
  }

  /** The client weights in force. */
  fairness(): FairnessView {
    return this.options.fairness.current;
  }

  /**
   * Replaces every rate and concurrency limit (global, per handler type, per client, per
   * `concurrencyKey`): from the next grant, without a restart. What a limit holds waits in its
   * queue, never failed. Throws OptionsError (and changes nothing) for a bad or unknown field. On
   * this process (in a cluster, each node holds its own rules; the global and per-type rates are the cluster's).
   */
  setLimits(limits: LimitsOptions): LimitsView {
    this.options.limits.set(limits);
    return this.limits();
  }

  /** The limits in force, and for each limited scope what runs in it and what it holds queued now. */
  limits(): LimitsView {
    return limitsView(this.options.limits, this.pool, this.partitions.local().map((p) => p.state()), this.options.clock.now());
  }

  /** Payloads that failed for good (dead letters), newest first, by type and client, a page at a time. */
  failed(query?: FailedQuery): Promise<FailedPage> {
    return this.ready().then(() => this.deadLetters.failed(query));
  }

  /** Runs a dead letter again as a new attempt of the same id; false if it no longer failed. UnknownPayloadError if it is no dead letter. */
  retry(id: string): Promise<boolean> {
    return this.ready().then(() => this.deadLetters.retry(id));
  }

  /** Retries every dead letter of a type and/or client; resolves with how many run again. */
  retryFailed(filter?: RetryFilter): Promise<number> {
    return this.ready().then(() => this.deadLetters.retryWhere(filter));
  }

  /** The payload's current status, tier, attempts, timestamps and result or error; undefined if unknown. */
  get(id: string): Promise<PayloadView | undefined> {
    if (!this.isBooted) return this.booted.then(() => this.get(id));
    const held = this.graph.view(id) ?? (this.adopted.size > 0 ? this.adopted.view(id) : undefined); // waiting on dependencies, or ended by them
    if (held) return Promise.resolve(held);
    return this.ask<PayloadView | undefined>(id, (reply) => ({ type: 'get', id, reply }), undefined);
  }

  /**
   * Resolves with the payload's result once it completes; rejects with PayloadFailedError,
   * CancelledError or SkippedError when it ends otherwise.
   */
  waitFor<R = unknown>(id: string): Promise<R> {
    return this.waiters.wait<R>(id, () => this.get(id));
  }

  /** Events of one client's payloads. */
  client(clientId: string): ClientEvents {
    return { on: (type, listener) => this.events.onClient(clientId, type, listener) };
  }

  /** Resolves once no actor has a message waiting (tests use it to let the runtime settle). */
  async idle(): Promise<void> {
    await this.booted;
    // Check only after a macrotask turn: effects of the last message (handler launches, coalesced
    // outcomes, grants) are queued as microtasks and dispatch their messages after it returns.
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.system.pendingMessages === 0 && this.batcher.size === 0 && this.durability.writer.pending === 0 && !this.pool.pumping && this.scheduler.busy === 0) return;
      await this.system.whenIdle();
      await this.durability.writer.whenFlushed();
      await this.scheduler.whenSettled();
    }
  }

  /** The live actor tree: every actor's path, kind, mailbox length and state summary. */
  tree(): ActorInfo[] {
    return this.system.tree();
  }

  /** Execution-pool slots and each partition's queues, for inspection and metrics. */
  stats(): RuntimeStats {
    const now = this.options.clock.now();
    return {
      status: this.status,
      pool: this.pool.stats(),
      partitions: this.partitions.local().map((p) => partitionStats(p.state(), now)),
    };
  }

  /** Registered handler types. */
  handlerTypes(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * The coordinator: load level, signals, decisions, the ledger of skipped payloads, and the
   * operator actions (pin, release, reschedule now, low-tier throttle). Undefined with `coordinator: false`.
   */
  get coordinator(): CoordinatorApi | undefined {
    return this.coordination.api;
  }

  /**
   * The effective complexity the engine would route a payload of this client and type on now, for
   * a client estimate of `clientScore` (default 1), with the evidence: samples and average costs.
   */
  suggestComplexity(clientId: string, type: string, clientScore = 1): ComplexitySuggestion {
    return this.coordination.suggest(clientId, type, clientScore);
  }

  /** Most low-tier starts per second, changed at once without restart; undefined lifts the limit. */
  setLowThrottle(perSecond: number | undefined): void {
    this.coordination.setLowThrottle(perSecond);
  }

  /** Every execution slot with its counters (completed, failed, mean run time, last active, state). */
  slots(): SlotStats[] {
    return this.pool.slotStats();
  }

  /**
   * Prometheus metrics on this runtime's own registry. Created on first use (or at creation with the
   * `metrics` option): counting by tier and type needs events, and unheard events are not built.
   */
  get metrics(): RuntimeMetrics {
    return (this.metricsState ??= new RuntimeMetrics({
      name: this.options.name,
      nodeId: () => this.cluster?.nodeId,
      events: this.events,
      stats: () => this.stats(),
      tree: () => this.tree(),
      handlerTypes: () => this.handlerTypes(),
      readySince: (partition, id) => this.partitions.get(partition)?.state().records.get(id)?.enqueuedAt,
      loadLevel: () => this.admin.sources.load().level,
      store: () => this.durability.stats(),
      pausedQueues: () => this.pauses.heldQueues(this.partitions.local().map((p) => p.state())),
      limits: () => this.limits(),
      retainTerminal: this.options.retainTerminal,
    }, this.metricsOptions));
  }

  /** What the admin reads of this process's own partitions and pool: never changes them. */
  private payloadInspector(): PayloadInspector {
    const partitionOfId = (id: string) => parseInt(id.slice(id.lastIndexOf('.') + 1), 36);
    return {
      record: (id) => this.partitions.get(partitionOfId(id))?.state().records.get(id),
      partitions: () => this.partitions.states(),
      attempts: (id) => this.metricsState?.attempts(id) ?? [],
      recording: () => this.metricsState !== undefined,
      running: () => this.pool.runningNow(),
    };
  }

  /** The admin endpoint: `admin.listen({ port, host, token })`; closed when the runtime stops. */
  get admin(): AdminHandle {
    return (this.adminState ??= new AdminHandle(this, this.logger, this.payloadInspector()).provide({ workflows: workflowAdminSource(this.workflows), coordinator: this.coordination.adminSource() }));
  }

  get state(): RuntimeStatus {
    return this.status;
  }

  /**
   * Resolves once the runtime has stopped, whoever stopped it. A cluster node stops on its own when
   * it finds it can no longer act for its home (it was paused or cut off past the home's lease);
   * `stoppedBy` then says why, and a supervisor should start the process again.
   */
  whenStopped(): Promise<void> {
    return this.stoppedPromise;
  }

  /** The reason the runtime stopped on its own; undefined while running or after `stop()`. */
  get stoppedBy(): Error | undefined {
    return this.fault;
  }

  /** Stops accepting work; with `drain`, first lets queued and running payloads finish. */
  async stop(options: StopOptions = {}): Promise<void> {
    const problems = unknownFields(options, STOP_FIELDS, '', 'is not a stop option');
    if (problems.length > 0) throw new OptionsError(problems);
    if (this.status !== 'running') return;
    this.status = 'stopping';
    this.draining = options.drain === true;
    this.scheduler.stop();
    // A boot still trying to reach the store ends here (RuntimeStoppedError for whoever waits on it).
    if (!this.isBooted) this.durability.abandonConnecting();
    const booted = await this.booted.then(() => true, () => false);
    if (booted && this.durability.available) await this.idle();
    if (this.cluster && booted) {
      // Queued work is handed to the partitions' next owners, not run here; without drain, what runs
      // is aborted and runs again there (at least once), with drain it finishes first.
      if (!options.drain) this.pool.abortAll('runtime stopped');
      await this.cluster.stop({ handover: true });
    } else if (options.drain) {
      while (!this.drained()) {
        await this.events.once('*', (e) => e.type === 'completed' || e.type === 'failed' || e.type === 'cancelled' || e.type === 'skipped' || e.type === 'retrying' || e.type === 'expired' || e.type === 'rescheduled');
        await this.idle();
      }
    } else {
      this.pool.abortAll('runtime stopped');
    }
    // What stays queued gives back its claims (starts journalled ahead): the next start must not
    // take those payloads for reruns. Only partitions holding claims (durable, one process) wait
    // for it, and they offer the pool nothing more meanwhile.
    const claiming = booted && this.durability.available && !this.cluster ? this.partitions.local().filter((p) => p.state().claims.ids.size > 0) : [];
    for (const partition of claiming) {
      partition.suspend();
      partition.ref.dispatch({ type: 'unclaim' });
    }
    await Promise.all(claiming.map((partition) => partition.settled()));
    // Submits still parked for room (overflow `wait`) were never accepted: answer them, do not leave them pending.
    for (const partition of this.partitions.local()) {
      for (const { batch, index } of partition.state().parked) batch.settle(index, { ok: false, error: new RuntimeStoppedError() });
    }
    // What the coordinator and the analyzer learned since their last snapshot (they keep no journal).
    if (booted && this.durability.available) await this.coordination.flushSnapshots().catch(() => {}); // failures are reported by the store
    this.deadLetters.stop();
    await this.deadLetters.settled();
    this.partitions.disposeAll();
    this.coordination.dispose();
    this.pool.dispose();
    this.options.limits.dispose();
    this.system.stop();
    await this.durability.close();
    this.status = 'stopped';
    this.markStopped();
    this.waiters.rejectAll();
    this.workflows.stopped();
    this.metricsState?.dispose();
    await this.adminState?.close();
  }

  private drained(): boolean {
    // Payloads skipped into the ledger are accepted work too: a drain waits for their make-up,
    // unless an operator pinned the level (then make-up cannot start, and they stay in the ledger).
    const coordinator = this.coordinator;
    if (coordinator && !coordinator.pinned() && coordinator.ledger(0).total > 0) return false;
    return this.partitions.local().every((p) => {
      const s = p.state();
      return s.running === 0 && s.retrying === 0 && s.depth.critical + s.depth.high + s.depth.medium + s.depth.low === 0;
    });
  }

  /** `caughtUp`: the partition's inbox was taken in since this lookup began (see below). */
  private ask<T>(id: string, build: (reply: (value: T) => void) => PartitionMessage, unknown: T, caughtUp = false): Promise<T> {
    const partition = typeof id === 'string' ? partitionOfId(id, this.options.partitions) : undefined;
    if (partition === undefined) return Promise.resolve(unknown);
    if (this.status === 'stopped') return Promise.reject(new RuntimeStoppedError());
    if (!this.isBooted) return this.booted.then(() => this.ask(id, build, unknown, caughtUp));
    const local = this.partitions.get(partition);
    if (local || !this.cluster) {
      const answer = new Promise<T>((resolve) => local?.ref.dispatch(build(resolve)));
      const cluster = this.cluster;
      if (!cluster || caughtUp) return answer;
      // Read your writes: "unknown" only once the partition took in what its inbox held when asked.
      // Then ask again wherever the partition is by now: it may have left this node meanwhile.
      return answer.then((value) => (value === unknown ? cluster.inboxTakenIn(partition).then(() => this.ask(id, build, unknown, true)) : value));
    }
    const message = build(() => {});
    return this.cluster.call(partition, message.type === 'cancel' ? 'cancel' : 'get', id) as Promise<T>;
  }

  private clusterHostDeps(): ClusterHostDeps {
    return {
      partitions: this.partitions,
      coordination: this.coordination,
      logger: this.logger,
      // Stopping without drain, running attempts were aborted: they run again at the next owner, so nothing to wait for.
      handoverTimeoutMs: () => (this.status === 'stopping' && !this.draining ? 0 : this.cluster?.handoverTimeoutMs ?? 30_000),
      deliverEvent: (event) => this.deliverEvent(event),
      homes: this.homeHost(),
      describe: (op, arg) => {
        if (op === 'workflow') return arg === undefined ? undefined : this.workflows.get(arg) ?? this.adopted.workflow(arg);
        if (op === 'cancel-workflow') return arg === undefined ? false : this.adopted.cancelWorkflow(arg, this.workflows);
        if (op === 'start-workflow') return startForClient(this.workflows, arg);
        return op === 'tree' ? this.tree() : this.stats();
      },
      recovered: (counts) => {
        const r = (this.recovery ??= { records: 0, rerun: 0, deferred: 0, durationMs: 0 });
        this.recovery = { ...r, records: r.records + counts.records, rerun: r.rerun + counts.rerun, deferred: r.deferred + counts.deferred };
      },
    };
  }

  /** A non-partition actor's persistence key: each node of a cluster keeps its own. */
  private actorKey(key: string): string {
    return this.cluster ? `${key}@${this.cluster.nodeId}` : key;
  }

  /** What the cluster node asks of the homes run here. */
  private homeHost(): HomeHost {
    return homesHost({
      cluster: this.cluster!,
      adopted: this.adopted,
      ownIdle: () => this.graph.idle && this.workflows.active === 0,
      flushed: () => this.durability.writer.whenFlushed(),
      logger: this.logger,
      ownLost: (fault) => {
        this.fault = fault;
        void this.stop();
      },
    });
  }

  private publish(event: PayloadEvent): void {
    if (this.cluster && (ENDING_EVENTS.has(event.type) || this.cluster.interest.relays(event.type))) this.cluster.publish(event);
    this.deliverEvent(event);
  }

  /** An event of a partition here or, in a cluster, of another node's. */
  private deliverEvent(event: PayloadEvent): void {
    this.events.emit(event);
    // A schedule's lateness is measured where its firing starts: this node's partitions only.
    if (event.type === 'started' && event.node === undefined) this.scheduler.sawStart(event.id, event.at);
    // Dependents and workflow steps judge load skips themselves (an optional step yields to one).
    if (ENDING_EVENTS.has(event.type)) {
      this.graph.observe(event);
      this.workflows.observe(event);
      if (this.adopted.size > 0) this.adopted.observe(event);
    }
    // A load skip (it has a ledger id) is not an end: the payload waits in the ledger to run later.
    if (event.ledgerId !== undefined && event.type === 'skipped') return;
    if (this.waiters.size > 0) this.waiters.end(event.id, { status: event.type, result: event.result, error: event.error, reason: event.reason });
  }
}

export function createRuntime(options: CreateRuntimeOptions = {}): Runtime {
  return new Runtime(options);
}
