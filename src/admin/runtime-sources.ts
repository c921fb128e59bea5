/**
 * `AdminSources` for a Runtime. What the runtime has today is answered in full (actor tree, queues,
 * payloads, running attempts, cancel, health, metrics); the coordinator's and the workflow engine's
 * parts come from `AdminPlugins` and fall back to what is true without them.
 */
import type { ActorInfo } from '../core/actor-system.ts';
import { OptionsError, TriageError, UnknownScheduleError } from '../errors.ts';
import { TERMINAL_STATUSES } from '../payload.ts';
import type { Runtime, RuntimeStats } from '../runtime.ts';
import type { ScheduleView } from '../runtime/schedules.ts';
import { AdminError, notAvailable } from './errors.ts';
import { payloadSources, type AdminParts } from './payload-sources.ts';
import {
  actorTree, type AdminPlugins, type AdminSources, type ClusterAdminView, type ClusterPartitionsView, type CoordinatorSource, type HealthCheck, type LoadView, type NodeTree, type ScheduleRow,
} from './sources.ts';

/** Short: the page polls the cluster view every refresh, and a node that is gone must not hold it up for long. */
const NODE_TREE_TIMEOUT_MS = 1_000;

/** Without a coordinator the level never moves and nothing is throttled. */
const STEADY_LOAD: LoadView = { level: 'normal', pinned: false, lowThrottle: null, since: undefined };

export function runtimeSources(runtime: Runtime, plugins: () => AdminPlugins, parts: AdminParts): AdminSources {
  const now = () => runtime.options.clock.now();
  // Recovery runs asynchronously from creation; readiness waits for it.
  let recovery: HealthCheck = { name: 'recovery', ok: false, detail: 'recovering state from the store' };
  runtime.ready().then(
    () => (recovery = { name: 'recovery', ok: true, detail: 'state recovered' }),
    (error: unknown) => (recovery = { name: 'recovery', ok: false, detail: `recovery failed: ${error instanceof Error ? error.message : String(error)}` }),
  );
  const coordinator = (action: string): CoordinatorSource => {
    const source = plugins().coordinator;
    if (!source) throw notAvailable(action, 'coordinator');
    return source;
  };
  const sources: Omit<AdminSources, keyof ReturnType<typeof payloadSources>> = {
    name: runtime.options.name,
    tree() {
      const actors = runtime.tree();
      return { at: now(), actors: actors.length, root: actorTree(runtime.options.name, actors) };
    },
    partitions() {
      const { status, pool, partitions } = runtime.stats();
      return { at: now(), status, pool, partitions };
    },
    payload: (id) => runtime.get(id),
    ledger: (limit, offset) => plugins().coordinator?.ledger(limit, offset) ?? { total: 0, entries: [] },
    workflows: (limit) => plugins().workflows?.list(limit) ?? { total: 0, instances: [] },
    workflow: async (id) => plugins().workflows?.get(id),
    load: () => plugins().coordinator?.load() ?? STEADY_LOAD,
    decisions: (limit) => plugins().coordinator?.decisions(limit) ?? [],
    health() {
      const status = runtime.state;
      const store = runtime.store.stats();
      const checks: HealthCheck[] = [
        { name: 'runtime', ok: status === 'running', detail: `runtime is ${status}` },
        recovery,
        { name: 'store', ok: store.available, detail: `${store.durable ? 'durable' : 'in-memory'} store ${store.available ? 'available' : 'unavailable: new work is refused'}` },
      ];
      for (const check of plugins().checks ?? []) checks.push(runSafely(check));
      return { live: true, ready: checks.every((c) => c.ok), status, checks };
    },
    cluster: () => clusterView(runtime),
    clusterPartitions: () => clusterPartitions(runtime),
    metrics: () => runtime.metrics.exposition(),
    async cancel(id) {
      const before = await runtime.get(id);
      if (!before) return { outcome: 'unknown' };
      if (TERMINAL_STATUSES.has(before.status)) return { outcome: 'already-finished', view: before };
      const cancelled = await runtime.cancel(id);
      const after = (await runtime.get(id)) ?? before;
      return cancelled ? { outcome: 'cancelled', view: after } : { outcome: 'already-finished', view: after };
    },
    pinLoad: async (level) => coordinator('pinning the load level').pin(level),
    releaseLoad: async () => coordinator('releasing the load level').release(),
    rescheduleLedger: async () => coordinator('rescheduling the ledger').reschedule(),
    setLowThrottle: async (perSecond) => coordinator('throttling the low tier').setLowThrottle(perSecond),
    failed: async (query) => {
      const page = await runtime.failed(withoutUnset(query));
      return { total: page.total, next: page.next ?? null, items: page.items.map(({ id, type, clientId, partition, failedAt, attempts, error }) => ({ id, type, clientId, partition, failedAt, attempts, error })) };
    },
    retry: async (id) => {
      try {
        return { id, retried: await runtime.retry(id) };
      } catch (error) {
        if (error instanceof TriageError && error.code === 'UNKNOWN_PAYLOAD') throw new AdminError('UNKNOWN_PAYLOAD', `no failed payload with id ${JSON.stringify(id)}`, 'id');
        throw error;
      }
    },
    retryFailed: async (filter) => ({ retried: await runtime.retryFailed(withoutUnset(filter)) }),
    pauses: () => runtime.paused(),
    pause: async (target) => runtime.pause(target),
    resume: async (target) => runtime.resume(target),
    fairness: () => runtime.fairness(),
    setFairness: async (fairness) => refusingBadOptions(() => runtime.setFairness(fairness)),
    limits: () => runtime.limits(),
    setLimits: async (limits) => refusingBadOptions(() => runtime.setLimits(limits)),
    schedules: (limit) => {
      const all = runtime.schedules.list();
      return { at: Date.now(), total: all.length, schedules: all.slice(0, limit).map(scheduleRow) };
    },
    pauseSchedule: (id) => scheduleAction(() => runtime.schedules.pause(id)),
    resumeSchedule: (id) => scheduleAction(() => runtime.schedules.resume(id)),
  };
  return { ...sources, ...payloadSources(runtime, plugins, parts, sources) };
}

/** Options the runtime refuses are the request's fault: a 400 naming the first field (the message names them all). */
function refusingBadOptions<T>(change: () => T): T {
  try {
    return change();
  } catch (error) {
    if (error instanceof OptionsError) throw new AdminError('BAD_REQUEST', error.message, error.problems[0]?.field);
    throw error;
  }
}

/** A readiness check that throws counts as failing; its error must not take the probe down. */
function runSafely(check: () => HealthCheck): HealthCheck {
  try {
    return check();
  } catch (error) {
    return { name: check.name || 'check', ok: false, detail: error instanceof Error ? error.message : String(error) };
  }
}

/** Every live node's partitions, asked for at once; a node that does not answer is listed as silent. */
async function clusterPartitions(runtime: Runtime): Promise<ClusterPartitionsView> {
  const own = runtime.stats();
  const cluster = runtime.cluster;
  if (!cluster) return { at: Date.now(), status: own.status, pool: own.pool, partitions: own.partitions, silent: [] };
  let nodes: readonly { id: string }[];
  try {
    nodes = await cluster.liveNodes();
  } catch (error) {
    throw new AdminError('CLUSTER_UNAVAILABLE', `the cluster view cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const silent: string[] = [];
  const each = await Promise.all(nodes.map(async ({ id }) => {
    const stats = (id === cluster.nodeId ? own : await cluster.askNode(id, 'stats', NODE_TREE_TIMEOUT_MS).catch(() => undefined)) as RuntimeStats | undefined;
    if (!stats || !Array.isArray(stats.partitions)) {
      silent.push(id);
      return [];
    }
    return stats.partitions.map((p) => ({ ...p, node: id }));
  }));
  return { at: Date.now(), status: own.status, pool: own.pool, partitions: each.flat().sort((a, b) => a.partition - b.partition), silent };
}

/** The cluster as this node sees it, with every live node's actor tree asked for at once. */
async function clusterView(runtime: Runtime): Promise<ClusterAdminView> {
  const cluster = runtime.cluster;
  if (!cluster) return { clustered: false };
  let view: Awaited<ReturnType<typeof cluster.view>>;
  try {
    view = await cluster.view();
  } catch (error) {
    throw new AdminError('CLUSTER_UNAVAILABLE', `the cluster view cannot be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const trees = await Promise.all(view.nodes.map(async ({ id }): Promise<[string, NodeTree]> => {
    try {
      const tree = await cluster.askNode(id, 'tree', NODE_TREE_TIMEOUT_MS);
      return [id, Array.isArray(tree) ? (tree as ActorInfo[]) : { error: `node ${id} has no actor tree to show (not started)` }];
    } catch (error) {
      // Only the cluster's own errors are worded for operators; anything else stays in the node's log.
      return [id, { error: error instanceof TriageError ? error.message : `node ${id} did not answer` }];
    }
  }));
  return {
    clustered: true,
    node: view.node,
    leader: view.leader ?? null,
    partitions: runtime.options.partitions,
    nodes: view.nodes,
    owners: view.owners,
    homes: view.homes.map(({ home, node }) => ({ home, node: node ?? null })),
    trees: Object.fromEntries(trees),
  };
}

function scheduleRow(view: ScheduleView): ScheduleRow {
  return {
    id: view.id,
    timing: view.cron ?? `every ${view.every} ms`,
    timezone: view.timezone ?? null,
    type: view.payload.type,
    paused: view.paused,
    nextAt: view.nextAt ?? null,
    lastTick: view.lastTick,
    lastId: view.lastId ?? null,
    overlap: view.overlap,
    catchUp: view.catchUp,
  };
}

async function scheduleAction(act: () => Promise<ScheduleView>): Promise<ScheduleRow> {
  try {
    return scheduleRow(await act());
  } catch (error) {
    if (error instanceof UnknownScheduleError) throw new AdminError('UNKNOWN_SCHEDULE', error.message, 'id');
    throw error;
  }
}

/** Query fields the request left out are absent, not undefined (the runtime refuses unknown fields, not missing ones). */
function withoutUnset<T extends object>(query: T): T {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as T;
}
