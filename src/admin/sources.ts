/**
 * What the admin server reads and acts on, as one narrow interface (`AdminSources`). The server
 * knows nothing else about the runtime; `runtimeSources` builds the interface from a Runtime plus
 * the optional parts the runtime may have (`AdminPlugins`: coordinator, workflows, readiness
 * checks). A part that is missing answers with what is true today — load level `normal`, an empty
 * ledger, no decisions, no workflows — and its operator actions answer 501 `NOT_AVAILABLE`.
 */
import type { InFlightRun } from '../metrics/recorder.ts';
import type { PartitionStats } from '../../actors/partition/state.ts';
import type { ActorInfo } from '../core/actor-system.ts';
import type { NodeInfo } from '../cluster/membership.ts';
import type { PartitionOwner } from '../cluster/ownership.ts';
import type { PoolStats } from '../execution/pool-host.ts';
import type { LimitsOptions } from '../limits/rules.ts';
import type { PayloadView, Tier } from '../payload.ts';
import type { RuntimeStatus } from '../runtime.ts';
import type { LimitsView } from '../runtime/limits-view.ts';
import type { PayloadDetail, PayloadPage, PayloadSearch } from './payload-views.ts';
import type { SeriesPoint } from './series.ts';

export const LOAD_LEVELS = ['normal', 'elevated', 'critical'] as const;
export type LoadLevel = (typeof LOAD_LEVELS)[number];

/** One node of the live actor tree; `children` nest by path. */
export interface ActorNode {
  readonly path: string;
  readonly kind: string;
  /** Messages dispatched to it but not yet processed (0 for grouping nodes). */
  readonly mailbox: number;
  readonly processed: number;
  readonly summary: Record<string, unknown>;
  readonly children: readonly ActorNode[];
}

export interface TreeView {
  readonly at: number;
  readonly actors: number;
  readonly root: ActorNode;
}

export interface PartitionsView {
  readonly at: number;
  readonly status: RuntimeStatus;
  readonly pool: PoolStats;
  readonly partitions: readonly PartitionStats[];
}

/** Every live node's partitions (a cluster node), each marked with its node; `silent`: nodes that did not answer. */
export interface ClusterPartitionsView extends PartitionsView {
  readonly partitions: ReadonlyArray<PartitionStats & { readonly node?: string }>;
  readonly silent: readonly string[];
}

/** An attempt running now, as the admin page and `triage inspect` list it. */
export interface RunningPayload extends InFlightRun {
  readonly runningMs: number;
}

export interface RunningView {
  readonly at: number;
  readonly total: number;
  readonly running: readonly RunningPayload[];
}

export interface LoadView {
  readonly level: LoadLevel;
  /** An operator pinned the level; the coordinator leaves it until released. */
  readonly pinned: boolean;
  /** Most low-tier starts per second; null = unlimited. */
  readonly lowThrottle: number | null;
  /** When the level last changed (epoch ms); undefined when it never has. */
  readonly since: number | undefined;
}

export interface CoordinatorDecision {
  readonly at: number;
  /** What the coordinator did: `elevate`, `degrade`, `restore`, `transfer`, `scale`, `pin`, … */
  readonly action: string;
  readonly level: LoadLevel;
  readonly reason: string;
}

/** A payload skipped or degraded because of load, waiting in the ledger to be rescheduled. */
export interface LedgerEntryView {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly partition: number;
  readonly tier: Tier;
  readonly kind: 'skipped' | 'degraded';
  readonly at: number;
  readonly reason: string;
}

export interface LedgerView {
  readonly total: number;
  readonly entries: readonly LedgerEntryView[];
}

export type WorkflowStatus = 'running' | 'compensating' | 'completed' | 'failed' | 'cancelled';

export type WorkflowStepStatus =
  | 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled' | 'compensating' | 'compensated' | 'compensation-failed';

export interface WorkflowStepView {
  readonly name: string;
  readonly status: WorkflowStepStatus;
  /** The step's payloads: one, or one per item of a fan-out. */
  readonly payloads: readonly string[];
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
}

export interface WorkflowInstanceSummary {
  readonly id: string;
  readonly workflow: string;
  readonly status: WorkflowStatus;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly steps: { readonly total: number; readonly completed: number; readonly running: number; readonly failed: number };
}

export interface WorkflowInstanceDetail extends Omit<WorkflowInstanceSummary, 'steps'> {
  readonly steps: readonly WorkflowStepView[];
}

export interface WorkflowsView {
  readonly total: number;
  readonly instances: readonly WorkflowInstanceSummary[];
}

export interface HealthCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface HealthView {
  /** The process answers and its event loop turns. */
  readonly live: boolean;
  /** The runtime accepts work and every readiness check passes. */
  readonly ready: boolean;
  readonly status: RuntimeStatus;
  readonly checks: readonly HealthCheck[];
}

export type CancelOutcome =
  | { readonly outcome: 'cancelled'; readonly view: PayloadView }
  | { readonly outcome: 'already-finished'; readonly view: PayloadView }
  | { readonly outcome: 'unknown' };

/** A node's actor tree as it answered, or why it did not. */
export type NodeTree = readonly ActorInfo[] | { readonly error: string };

export type ClusterAdminView =
  | { readonly clustered: false }
  | {
    readonly clustered: true;
    /** The node answering. */
    readonly node: string;
    /** The node whose coordinator decides for the cluster; null while none is known. */
    readonly leader: string | null;
    /** Partitions in the cluster; those no node holds a lease on are missing from `owners`. */
    readonly partitions: number;
    readonly nodes: readonly NodeInfo[];
    readonly owners: readonly PartitionOwner[];
    /** Every home (held dependents and workflow instances of one node process) and the node running it; null: waiting to be adopted. */
    readonly homes: ReadonlyArray<{ readonly home: string; readonly node: string | null }>;
    /** Per live node: its actor tree (flat, as `runtime.tree()`), or `{ error }` when it did not answer. */
    readonly trees: Readonly<Record<string, NodeTree>>;
  };

export interface MetricsExposition {
  readonly contentType: string;
  readonly body: string;
}

/** Everything the admin server reads and does. */
export interface PausesView {
  readonly all: boolean;
  readonly types: readonly string[];
  /** Clients paused, whole (no `type`) or for one handler type. */
  readonly clients: readonly { readonly clientId: string; readonly type?: string }[];
}

/** Client weights of fair sharing: each waiting client's share of a tier is its weight over the waiting clients' sum. */
export interface FairnessView {
  readonly weights: Readonly<Record<string, number>>;
  readonly defaultWeight: number;
}

/** What a pause or resume names: a type, a client (with a type: only that type of it), or neither (everything). */
export interface PauseTargetView {
  readonly type?: string;
  readonly clientId?: string;
}

/** Dead letters as the admin lists them. */
export interface FailedView {
  readonly total: number;
  readonly items: readonly { readonly id: string; readonly type: string; readonly clientId: string; readonly partition: number; readonly failedAt: number; readonly attempts: number; readonly error: unknown }[];
  readonly next: string | null;
}

/** One schedule as the admin lists it. */
export interface ScheduleRow {
  readonly id: string;
  /** The cron pattern, or `every <n> ms`. */
  readonly timing: string;
  readonly timezone: string | null;
  readonly type: string;
  readonly paused: boolean;
  /** Epoch ms; null while paused or after its end. */
  readonly nextAt: number | null;
  readonly lastTick: number;
  readonly lastId: string | null;
  readonly overlap: string;
  readonly catchUp: string;
}

export interface SchedulesView {
  readonly at: number;
  readonly total: number;
  readonly schedules: readonly ScheduleRow[];
}

/** The series ring, oldest point first, and the coordinator's decisions over the same window. */
export interface SeriesView {
  readonly at: number;
  readonly intervalMs: number;
  readonly capacity: number;
  readonly points: readonly SeriesPoint[];
  readonly decisions: readonly CoordinatorDecision[];
}

export interface AdminSources {
  readonly name: string;
  /** Points after `since` (epoch ms), or all the ring holds. */
  series(since: number | undefined): SeriesView;
  /** By id, type, client, status and tag, over the dead letters or the records retained here. */
  search(query: PayloadSearch): Promise<PayloadPage>;
  /** A payload with its timeline; undefined when no payload has that id. */
  payloadDetail(id: string): Promise<PayloadDetail | undefined>;
  tree(): TreeView;
  partitions(): PartitionsView;
  /** On a cluster node, the partitions of every live node; embedded, this runtime's (as `partitions`). */
  clusterPartitions(): Promise<ClusterPartitionsView>;
  running(limit: number): RunningView;
  payload(id: string): Promise<PayloadView | undefined>;
  /** Oldest first, a page: at most `limit` entries after the first `offset`. */
  ledger(limit: number, offset?: number): LedgerView;
  workflows(limit: number): WorkflowsView;
  workflow(id: string): Promise<WorkflowInstanceDetail | undefined>;
  load(): LoadView;
  decisions(limit: number): readonly CoordinatorDecision[];
  health(): HealthView;
  /** Throws AdminError CLUSTER_UNAVAILABLE when the cluster's Redis cannot be read. */
  cluster(): Promise<ClusterAdminView>;
  metrics(): Promise<MetricsExposition>;
  // Operator actions. Each throws AdminError NOT_AVAILABLE when the part it needs is missing.
  cancel(id: string): Promise<CancelOutcome>;
  pinLoad(level: LoadLevel): Promise<LoadView>;
  releaseLoad(): Promise<LoadView>;
  rescheduleLedger(): Promise<{ readonly rescheduled: number }>;
  setLowThrottle(perSecond: number | null): Promise<LoadView>;
  /** Dead letters, newest first (`runtime.failed`); throws ValidationError for a bad filter. */
  failed(query: { type?: string; clientId?: string; limit: number; cursor?: string }): Promise<FailedView>;
  /** Throws AdminError UNKNOWN_PAYLOAD when the id is no dead letter. */
  retry(id: string): Promise<{ readonly id: string; readonly retried: boolean }>;
  retryFailed(filter: { type?: string; clientId?: string }): Promise<{ readonly retried: number }>;
  /** What an operator paused: the whole runtime, handler types one by one, and clients. */
  pauses(): PausesView;
  pause(target: PauseTargetView): Promise<PausesView>;
  resume(target: PauseTargetView): Promise<PausesView>;
  /** Client weights of fair sharing; `setFairness` throws AdminError BAD_REQUEST for a bad one. */
  fairness(): FairnessView;
  setFairness(fairness: { weights?: Record<string, number>; defaultWeight?: number }): Promise<FairnessView>;
  /** The rate and concurrency limits in force and what each limited scope runs and holds; `setLimits` replaces them all, AdminError BAD_REQUEST for a bad one. */
  limits(): LimitsView;
  setLimits(limits: LimitsOptions): Promise<LimitsView>;
  schedules(limit: number): SchedulesView;
  /** Throws AdminError UNKNOWN_SCHEDULE for an id no schedule has. */
  pauseSchedule(id: string): Promise<ScheduleRow>;
  resumeSchedule(id: string): Promise<ScheduleRow>;
}

/**
 * The coordinator's part, plugged in with `runtime.admin.provide({ coordinator })`. Every method is
 * required: a coordinator that exists can answer all of them.
 */
export interface CoordinatorSource {
  load(): LoadView;
  /** Most recent first, at most `limit`. */
  decisions(limit: number): readonly CoordinatorDecision[];
  /** Oldest first, at most `limit` after the first `offset`; `total` counts all entries. */
  ledger(limit: number, offset?: number): LedgerView;
  pin(level: LoadLevel): LoadView | Promise<LoadView>;
  release(): LoadView | Promise<LoadView>;
  /** Reschedules every ledger entry now, whatever the load. */
  reschedule(): { readonly rescheduled: number } | Promise<{ readonly rescheduled: number }>;
  /** Most low-tier starts per second; null lifts the limit. */
  setLowThrottle(perSecond: number | null): LoadView | Promise<LoadView>;
}

/** The workflow engine's part, plugged in with `runtime.admin.provide({ workflows })`. */
export interface WorkflowSource {
  /** Most recently started first, at most `limit`; `total` counts all instances. */
  list(limit: number): WorkflowsView;
  get(id: string): WorkflowInstanceDetail | undefined | Promise<WorkflowInstanceDetail | undefined>;
}

export interface AdminPlugins {
  readonly coordinator?: CoordinatorSource;
  readonly workflows?: WorkflowSource;
  /** Extra readiness checks (a Redis connection, a lease); each runs on every readiness probe. */
  readonly checks?: readonly (() => HealthCheck)[];
}

/** Nests the flat actor list by path under the system's root. */
export function actorTree(system: string, actors: readonly ActorInfo[]): ActorNode {
  type Mutable = { path: string; kind: string; mailbox: number; processed: number; summary: Record<string, unknown>; children: Mutable[] };
  const root: Mutable = { path: `/${system}`, kind: 'system', mailbox: 0, processed: 0, summary: {}, children: [] };
  const nodes = new Map<string, Mutable>([[root.path, root]]);
  const nodeAt = (path: string): Mutable => {
    let node = nodes.get(path);
    if (node) return node;
    const cut = path.lastIndexOf('/');
    const parent = nodeAt(cut > 0 ? path.slice(0, cut) : root.path);
    node = { path, kind: 'group', mailbox: 0, processed: 0, summary: {}, children: [] };
    nodes.set(path, node);
    parent.children.push(node);
    return node;
  };
  for (const actor of actors) {
    const node = nodeAt(actor.path);
    node.kind = actor.kind;
    node.mailbox = actor.mailbox;
    node.processed = actor.processed;
    node.summary = actor.summary;
  }
  return root;
}
