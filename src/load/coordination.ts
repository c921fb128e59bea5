/**
 * Wires load-aware coordination into a runtime: the complexity analyzer, the coordinator, the
 * partitions' load hooks (boost rules and effective scores at routing, reports, ledger, transfers)
 * and the operator API. The runtime creates one and otherwise only forwards to it.
 */
import { spawnComplexity, type ComplexityHandle, type ComplexitySuggestion } from '../../actors/complexity/actor.ts';
import { spawnCoordinator, type CoordinatorApi, type CoordinatorHandle } from '../../actors/coordinator/actor.ts';
import type { LedgerEntry } from '../../actors/coordinator/ledger.ts';
import type { CoordinatorState } from '../../actors/coordinator/state.ts';
import type { ComplexityState } from '../../actors/complexity/state.ts';
import type { PeriodicSnapshot } from '../persistence/periodic-snapshot.ts';
import type { PartitionCoordination } from '../../actors/partition/actor.ts';
import type { PartitionMessage } from '../../actors/partition/messages.ts';
import type { PartitionLoadEnv } from '../../actors/partition/reducer.ts';
import type { PartitionState } from '../../actors/partition/state.ts';
import { systemClock, type TimerHandle } from '../clock.ts';
import type { ActorSystem } from '../core/actor-system.ts';
import { InvalidLevelError, OptionsError } from '../errors.ts';
import { LOAD_LEVELS } from './levels.ts';
import type { EventHub } from '../events.ts';
import type { Logger } from '../execution/handlers.ts';
import type { ExecutionPool } from '../execution/pool.ts';
import type { CompiledOptions } from '../options.ts';
import type { Payload } from '../payload.ts';
import type { BoostRule } from './options.ts';
import { ScriptedLoadSampler, systemLoadSampler, type LoadSampler, type ProcessLoad } from './sampler.ts';
import { clusterSampler } from './cluster-sampler.ts';
import type { CoordinatorEffect, CoordinatorMessage } from '../../actors/coordinator/messages.ts';
import { backgroundTimer } from './timers.ts';
import { coordinatorSource } from './admin-source.ts';
import type { CoordinatorSource } from '../admin/sources.ts';

/** A snapshot-only actor's state at boot, and where its snapshots go. */
export interface Restored<S> {
  readonly saved: S | undefined;
  readonly snapshots: PeriodicSnapshot<S>;
}

export interface CoordinationHost {
  readonly options: CompiledOptions;
  readonly system: ActorSystem;
  readonly logger: Logger;
  readonly events: EventHub;
  readonly pool: ExecutionPool;
  readonly sampler: LoadSampler;
  dispatch(partition: number, message: PartitionMessage): void;
  partitionStates(): readonly PartitionState[];
  /** Set on a cluster node: one elected coordinator decides for every partition, wherever it runs. */
  readonly cluster?: CoordinationCluster;
}

/** What coordination needs from a cluster node. */
export interface CoordinationCluster {
  /** This node's coordinator is the elected one. */
  leads(): boolean;
  /** A partition's report, a ledger change or an operator's action, for the elected coordinator on another node. */
  toLeader(message: LeaderMessage): void;
  /** Pool size, low throttle or level the elected coordinator chose, for every other node. */
  broadcast(effect: ClusterEffect): void;
  /** The process load of the other nodes, as they last reported it (fresh reports only). */
  remoteLoads(): readonly ProcessLoad[];
  /** This node's process load, for the elected coordinator (sent on each round this node skips). */
  reportLoad(load: ProcessLoad): void;
}

export type ClusterEffect = Extract<CoordinatorEffect, { kind: 'resize' | 'throttle' | 'level' }>;
/** What the nodes that do not lead send to the one that does. */
export type LeaderMessage = Extract<CoordinatorMessage, { type: 'report' | 'skipped' | 'unledger' | 'pin' | 'release' | 'throttle' | 'reschedule-now' }>;

/** The sampler a runtime uses: the injected one, else the real process with the system clock, else an idle process. */
export function chooseSampler(options: CompiledOptions): LoadSampler {
  const { coordinator } = options.coordination;
  if (coordinator && coordinator.sampler) return coordinator.sampler;
  return options.clock === systemClock ? systemLoadSampler() : new ScriptedLoadSampler();
}

/** Costs are handed to the analyzer this often when there is no coordinator round to carry them, ms. */
const ANALYZER_INTERVAL_MS = 500;

export class Coordination {
  readonly complexity: ComplexityHandle | undefined;
  readonly coordinator: CoordinatorHandle | undefined;
  /** What partitions route with; undefined when nothing changes routing. */
  readonly partitionLoad: PartitionLoadEnv | undefined;
  readonly partitionWiring: PartitionCoordination;
  private analyzerTimer: TimerHandle | undefined;
  private disposed = false;

  constructor(private readonly host: CoordinationHost) {
    const { options, system, pool } = host;
    const { coordinator, complexity, boostRules } = options.coordination;
    this.complexity = complexity ? spawnComplexity(system, complexity) : undefined;
    this.coordinator = coordinator
      ? spawnCoordinator({
          system,
          env: { options: coordinator, pool: options.coordination.pool, runtime: options, partitions: options.partitions },
          clock: options.clock,
          sampler: host.cluster ? clusterSampler(host.sampler, host.cluster) : host.sampler,
          pool,
          complexity: this.complexity,
          sendPartition: (partition, message) => host.dispatch(partition, message),
          onDecision: (decision) => host.events.emitSystem('coordinator.decision', decision),
          active: host.cluster && (() => host.cluster!.leads()),
          broadcast: host.cluster && ((effect) => host.cluster!.broadcast(effect)),
          follow: host.cluster && ((load) => host.cluster!.reportLoad(load)),
          // The elected coordinator keeps its rounds while it leads: the work may all be on other nodes.
          busy: () => host.cluster?.leads() === true || host.partitionStates().some((s) => s.running > 0 || s.retrying > 0 || s.depth.critical + s.depth.high + s.depth.medium + s.depth.low > 0),
        })
      : undefined;
    const analyzer = this.complexity;
    const priorityOf = boostRules.length === 0 ? (p: Payload) => p.priority : boosting(boostRules, host.logger);
    this.partitionLoad = coordinator || analyzer || boostRules.length > 0
      ? {
          priorityOf,
          complexityOf: analyzer ? (p) => analyzer.effective(p.clientId, p.type, p.complexity) : (p) => p.complexity,
          degradedTimeoutFactor: coordinator ? coordinator.degradedTimeoutFactor : 1,
        }
      : undefined;
    const { coordinator: handle } = this;
    const { cluster } = host;
    // On a cluster node that does not lead, reports and ledger changes go to the node that does.
    const remote = () => handle !== undefined && cluster !== undefined && !cluster.leads();
    this.partitionWiring = {
      report: (load) => (remote() ? cluster!.toLeader({ type: 'report', round: 0, load }) : handle?.report(load)),
      ledger: (entries) => {
        if (remote()) cluster!.toLeader({ type: 'skipped', entries });
        else if (handle) handle.send({ type: 'skipped', entries });
        else this.rescheduleWithoutLedger(entries);
      },
      unledger: (ledgerIds) => (remote() ? cluster!.toLeader({ type: 'unledger', ledgerIds }) : handle?.send({ type: 'unledger', ledgerIds })),
      forward: (to, message) => host.dispatch(to, message),
    };
  }

  /** Work arrived: the coordinator's interval (or the analyzer's) runs while there is work. */
  poke(): void {
    if (this.coordinator) return this.coordinator.poke();
    if (!this.complexity || this.analyzerTimer || this.disposed) return;
    this.analyzerTimer = backgroundTimer(this.host.options.clock, ANALYZER_INTERVAL_MS, () => {
      this.analyzerTimer = undefined;
      const sums = this.host.pool.drainCosts();
      if (sums.length > 0) this.complexity?.ref.dispatch({ type: 'costs', sums, at: this.host.options.clock.now() });
      if (this.host.partitionStates().some((s) => s.running > 0 || s.depth.critical + s.depth.high + s.depth.medium + s.depth.low > 0)) this.poke();
    });
  }

  /**
   * At boot, before any partition talks to them: what the coordinator and the analyzer last
   * snapshotted, and where their snapshots go from now on.
   */
  restore(coordinator: Restored<CoordinatorState>, complexity: Restored<ComplexityState>): void {
    this.coordinator?.restore(coordinator.saved, coordinator.snapshots);
    this.complexity?.restore(complexity.saved, complexity.snapshots);
  }

  /** After recovery: payloads that were waiting in the ledger (the partitions' deferred records) are recorded in it again. */
  recoverLedger(states: readonly PartitionState[]): void {
    const entries: LedgerEntry[] = [];
    for (const state of states) {
      for (const record of state.records.values()) {
        if (record.status !== 'deferred' || record.ledgerId === undefined) continue;
        entries.push({
          ledgerId: record.ledgerId, id: record.id, partition: state.index, clientId: record.clientId, type: record.type, tier: record.tier,
          priority: record.priority, deadline: record.deadline, skippedAt: record.finishedAt ?? record.enqueuedAt, reason: 'recovered from the journal',
        });
      }
    }
    if (entries.length > 0) this.partitionWiring.ledger(entries);
  }

  /**
   * From another node of the cluster: a report or ledger change for this (elected) coordinator,
   * or an effect the elected one chose on another node.
   */
  fromCluster(message: LeaderMessage | ClusterEffect): void {
    const handle = this.coordinator;
    if ('kind' in message) {
      if (message.kind === 'resize') this.host.pool.resize(message.size);
      else if (message.kind === 'throttle') this.host.pool.setLowThrottle(message.perSecond);
      else this.complexity?.setLevel(message.level);
      return;
    }
    if (!handle) return;
    if (message.type === 'report') handle.report(message.load);
    else handle.send(message);
  }

  /** Resolves once the coordinator has handled every message sent so far. */
  settled(): Promise<void> {
    return this.coordinator ? this.coordinator.sync() : Promise.resolve();
  }

  /** Stores the coordinator's and the analyzer's latest state (a graceful stop). */
  async flushSnapshots(): Promise<void> {
    await Promise.all([this.coordinator?.flushSnapshot(), this.complexity?.flushSnapshot()]);
  }

  suggest(clientId: string, type: string, clientScore: number): ComplexitySuggestion {
    if (!this.complexity) throw new OptionsError([{ field: 'complexity', problem: 'the complexity analyzer is off (complexity: false)' }]);
    return this.complexity.suggest(clientId, type, clientScore);
  }

  /** Low-tier starts per second, changeable at runtime; undefined lifts the limit. */
  setLowThrottle(perSecond: number | undefined): void {
    if (perSecond !== undefined && (typeof perSecond !== 'number' || !Number.isFinite(perSecond) || perSecond < 0)) {
      throw new OptionsError([{ field: 'throttle.low', problem: `must be a number ≥ 0 (or undefined for no limit), got ${String(perSecond)}` }]);
    }
    if (this.coordinator) this.api!.setLowThrottle(perSecond); // recorded as a decision, then applied
    else this.host.pool.setLowThrottle(perSecond);
  }

  get api(): CoordinatorApi | undefined {
    return this.operated();
  }

  /** The coordinator as operators use it (in a cluster, their actions go to the one that leads). */
  private operated(): CoordinatorHandle | undefined {
    const { coordinator, host } = this;
    const cluster = host.cluster;
    if (!coordinator || !cluster) return coordinator;
    // On a node that does not lead, an operator's action goes to the coordinator that decides.
    const clock = host.options.clock;
    const act = (message: LeaderMessage, here: () => void) => (cluster.leads() ? here() : cluster.toLeader(message));
    return {
      ...coordinator,
      pin: (level) => {
        if (!(LOAD_LEVELS as readonly unknown[]).includes(level)) throw new InvalidLevelError(level);
        act({ type: 'pin', level, at: clock.now() }, () => coordinator.pin(level));
      },
      release: () => act({ type: 'release', at: clock.now() }, () => coordinator.release()),
      setLowThrottle: (perSecond) => act({ type: 'throttle', perSecond, at: clock.now() }, () => coordinator.setLowThrottle(perSecond)),
      rescheduleNow: () => {
        if (cluster.leads()) return coordinator.rescheduleNow();
        cluster.toLeader({ type: 'reschedule-now', at: clock.now() });
        return 0; // the count is the leader's to know
      },
    };
  }

  /** The coordinator's part of the admin endpoint (load, decisions, ledger, operator actions). */
  adminSource(): CoordinatorSource | undefined {
    const operated = this.operated();
    return operated && coordinatorSource(operated);
  }

  dispose(): void {
    this.disposed = true;
    this.coordinator?.dispose();
    this.analyzerTimer?.cancel();
    this.analyzerTimer = undefined;
  }

  /** Without a coordinator nothing is skipped; recovered ledger payloads simply run again. */
  private rescheduleWithoutLedger(entries: readonly LedgerEntry[]): void {
    const byPartition = new Map<number, LedgerEntry[]>();
    for (const entry of entries) byPartition.set(entry.partition, [...(byPartition.get(entry.partition) ?? []), entry]);
    for (const [partition, list] of byPartition) this.host.dispatch(partition, { type: 'reschedule', entries: list, boost: 0 });
  }
}

/** Priority after boost rules, clamped to 1–10. A rule that throws is reported and counts as no match. */
function boosting(rules: readonly BoostRule[], logger: Logger): (payload: Payload) => number {
  return (payload) => {
    let priority = payload.priority;
    for (const rule of rules) {
      let matches = false;
      try {
        matches = (rule.tag === undefined || payload.tags?.includes(rule.tag) === true) && (rule.when === undefined || rule.when(payload));
      } catch (error) {
        logger.error('a boost rule threw; it counts as not matching', { rule: rule.name ?? rule.tag, error: String(error) });
      }
      if (matches) priority += rule.boost;
    }
    return Math.min(10, Math.max(1, priority));
  };
}
