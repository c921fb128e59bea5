/**
 * The runtime's side of a cluster node: what happens here when a partition's lease is acquired,
 * handed over or lost, when another node hands this one payloads or asks about one, when another
 * node's partitions publish events; how a message reaches a partition another node owns; and the
 * homes this node runs.
 */
import type { EnqueueBatch, PartitionMessage } from '../../actors/partition/messages.ts';
import type { PayloadRecord } from '../../actors/partition/state.ts';
import type { ClusterHost, ClusterNode, NodeOp } from '../cluster/cluster-node.ts';
import type { WorkflowView } from '../../actors/workflow/state.ts';
import { cancelWorkflowOn, findWorkflow } from '../cluster/workflow-calls.ts';
import { DedupeAnswers, dedupedIds } from '../cluster/dedupe-answers.ts';
import type { Workflows } from '../../actors/workflow/manager.ts';
import { StoreUnavailableError, TriageError } from '../errors.ts';
import type { ExecutionPool } from '../execution/pool.ts';
import type { AdoptedHomes } from './adopted-homes.ts';
import type { HomeHost } from '../cluster/homes.ts';
import type { PayloadEvent } from '../events.ts';
import type { Logger } from '../execution/handlers.ts';
import type { Coordination } from '../load/coordination.ts';
import type { Payload } from '../payload.ts';
import type { PartitionSet } from './partition-set.ts';

export interface ClusterHostDeps {
  readonly partitions: PartitionSet;
  readonly coordination: Coordination;
  readonly logger: Logger;
  /** Longest a handover waits for running payloads now (0 when the runtime stops without drain: they were aborted). */
  handoverTimeoutMs(): number;
  /** An event of another node's partition, delivered here as if local (listeners, waiters, dependents, workflows). */
  deliverEvent(event: PayloadEvent): void;
  /** This node's actor tree and stats, for the cluster view. */
  describe(op: NodeOp, arg?: string): unknown;
  /** The homes run here (this node's own and those it adopted). */
  readonly homes: HomeHost;
  /** Counts what a recovered partition brought back. */
  recovered(counts: { records: number; rerun: number; deferred: number }): void;
}

export function clusterHost(deps: ClusterHostDeps): ClusterHost {
  const { partitions, coordination, logger } = deps;
  const answers = new DedupeAnswers();
  return {
    async acquire(partition) {
      const recovered = await partitions.recover(partition);
      deps.recovered(recovered);
      if (recovered.rerun > 0) logger.warn('payloads that were running at the partition\'s last owner run again', { partition, rerun: recovered.rerun });
      coordination.recoverLedger([partitions.get(partition)!.state()]);
    },
    // The ledger is the elected coordinator's, for the whole cluster: a partition that moves keeps its entries.
    handOver: (partition) => partitions.handOver(partition, deps.handoverTimeoutMs()),
    drop: (partition) => partitions.drop(partition),
    deliver(partition, payloads: readonly Payload[]) {
      const handle = partitions.get(partition);
      if (!handle) return Promise.reject(new Error(`partition ${partition} is not served here`));
      if (payloads.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        let remaining = payloads.length;
        let failure: unknown;
        // Admitted: accepted already (Redis took the inbox entry), so they enter even a full tier, deduplicated by id.
        handle.ref.dispatch({
          type: 'enqueue',
          batch: {
            payloads,
            admitted: true,
            settle: (i, result) => {
              if (!result.ok) failure ??= result.error;
              else answers.record(payloads[i] as Payload, result.id);
              if (--remaining > 0) return;
              if (failure) reject(failure);
              else resolve();
            },
          },
        });
      });
    },
    async takeOver(partition, from, records) {
      const handle = partitions.get(partition);
      if (!handle) throw new Error(`partition ${partition} is not served here`);
      handle.ref.dispatch({ type: 'transfer-in', from, records: records as PayloadRecord[] });
      await handle.settled();
    },
    call(partition, op, id) {
      const handle = partitions.get(partition);
      if (!handle) return undefined;
      if (op === 'dedupe') return Promise.resolve(answers.answerOf(id));
      return new Promise((resolve) => handle.ref.dispatch(op === 'get' ? { type: 'get', id, reply: resolve } : { type: 'cancel', id, reply: resolve }));
    },
    tell(partition, message: PartitionMessage) {
      const handle = partitions.get(partition);
      if (!handle) return false;
      handle.ref.dispatch(message);
      return true;
    },
    describe: (op, arg) => deps.describe(op, arg),
    homes: deps.homes,
    coordinate: (message) => coordination.fromCluster(message),
    resendLedger: () => coordination.recoverLedger(partitions.states()),
    remoteEvents(events, from) {
      for (const event of events) deps.deliverEvent({ ...(event as PayloadEvent), node: from });
    },
    report(what, error) {
      logger.warn(what, { error: String(error) });
    },
  };
}

/**
 * A message for a partition another node owns: submits through its inbox, lookups and cancels as
 * calls, decisions through the owner's mail. Grants and outcomes for a partition that left
 * meanwhile are void: its slots go back, and its new owner reruns what ran.
 */
export function toOwner(cluster: ClusterNode, pool: ExecutionPool, logger: Logger, partition: number, message: PartitionMessage): void {
  switch (message.type) {
    case 'enqueue': {
      const { batch } = message;
      cluster.send(partition, batch.payloads).then(
        // A payload with a dedupe key may have been answered with another id: its owner says which.
        () => dedupedIds(batch.payloads, (id) => cluster.call(partition, 'dedupe', id)).then(
          (ids) => ids.forEach((id, i) => batch.settle(i, { ok: true, id, duplicate: id !== batch.payloads[i]?.id })),
          (error: unknown) => batch.payloads.forEach((_, i) => batch.settle(i, { ok: false, error: error as TriageError })),
        ),
        (error: unknown) => batch.payloads.forEach((_, i) => batch.settle(i, { ok: false, error: new StoreUnavailableError(error) })),
      );
      return;
    }
    case 'get':
    case 'cancel': {
      // A lookup a partition passes on (its payload moved to a partition on another node): ask the owner there.
      const { reply } = message as { reply: (value: unknown) => void };
      cluster.call(partition, message.type, message.id).then(reply, (error: unknown) => {
        logger.warn('lookup on another node failed', { partition, id: message.id, error: String(error) });
        reply(message.type === 'get' ? undefined : 'unknown');
      });
      return;
    }
    case 'grant':
      pool.acknowledge(partition, message.grants);
      for (const g of message.grants) pool.release(g.tier, g.handlerType, g.count);
      return;
    case 'outcomes':
    case 'tick':
    case 'rollback':
      return;
    default:
      void cluster.tell(partition, message).catch((error: unknown) => logger.warn('message for another node not sent', { partition, type: message.type, error: String(error) }));
  }
}

/**
 * An enqueue for a partition served here. If the partition leaves this node before the batch's
 * journal entry is stored, the store refuses the entry (fenced): those payloads then go to the
 * partition's new owner through its inbox, and their submits are answered from there.
 */
export function followingOwner(cluster: ClusterNode, pool: ExecutionPool, logger: Logger, partition: number, batch: EnqueueBatch): EnqueueBatch {
  return {
    ...batch,
    settle: (index, result) => {
      const payload = batch.payloads[index];
      if (result.ok || !payload || !isFenced(result.error)) return batch.settle(index, result);
      toOwner(cluster, pool, logger, partition, { type: 'enqueue', batch: { payloads: [payload], settle: (_, sent) => batch.settle(index, sent) } });
    },
  };
}

/** A refusal because the partition's lease is no longer this node's (see FencedRedisEngine). */
function isFenced(error: TriageError): boolean {
  return error.code === 'FENCED' || (error.cause instanceof TriageError && error.cause.code === 'FENCED');
}

export interface HomesHostDeps {
  readonly cluster: ClusterNode;
  readonly adopted: AdoptedHomes;
  /** Whether this node's own home holds nothing and runs nothing. */
  ownIdle(): boolean;
  flushed(): Promise<void>;
  readonly logger: Logger;
  /** The node lost its own home: the runtime stops, with this as the reason. */
  ownLost(fault: TriageError): void;
}

/** What the cluster node asks of the homes run here: this node's own, and those it adopted. */
export function homesHost(deps: HomesHostDeps): HomeHost {
  const { cluster, adopted, logger } = deps;
  return {
    adopt: (home) => adopted.adopt(home),
    idle: (home) => (home === cluster.home ? deps.ownIdle() : adopted.idle(home)),
    retire: async (home) => adopted.retire(home),
    flushed: () => deps.flushed(),
    lost: (home, own) => {
      if (!own) return adopted.retire(home);
      // Paused past its home's lease: another node may run this home by now, and Redis refuses its writes here.
      logger.error('this node lost its home lease; it stops, and another node adopts its home', { home });
      deps.ownLost(new TriageError('HOME_LOST', `node ${cluster.nodeId} lost the lease of its home ${home} (paused or cut off too long); its home goes to another node`));
    },
    halt: (fault) => {
      logger.error('another process acts as this node now; this one stops', { node: cluster.nodeId });
      deps.ownLost(fault);
    },
    report: (what, error) => logger.warn(what, { error: String(error) }),
  };
}

/** A workflow instance this node's own home does not run: one it adopted, or one another live node runs (see findWorkflow). */
export async function workflowElsewhere(cluster: ClusterNode, adopted: AdoptedHomes, id: string): Promise<WorkflowView | undefined> {
  return adopted.workflow(id) ?? findWorkflow(cluster, id);
}

/** Cancels a workflow instance this node's own home does not run: one it adopted, or one another live node runs. */
export async function cancelWorkflowElsewhere(cluster: ClusterNode, adopted: AdoptedHomes, id: string): Promise<boolean> {
  if (adopted.workflow(id)) return adopted.cancelWorkflow(id);
  return cancelWorkflowOn(cluster, id);
}

/**
 * A node's answer to a producer client's `workflows.start` (`arg`: `{ name, input, clientId }` as
 * JSON): `{ id }`, or `{ error: { code, message } }` for a workflow not registered here or a bad input.
 */
export async function startForClient(workflows: Workflows, arg: string | undefined): Promise<{ id: string } | { error: { code: string; message: string } }> {
  try {
    const { name, input, clientId } = JSON.parse(arg ?? '{}') as { name?: unknown; input?: unknown; clientId?: string };
    const definition = workflows.registered().find((d) => d.name === name);
    if (!definition) return { error: { code: 'UNKNOWN_WORKFLOW', message: `no workflow ${JSON.stringify(name)} is registered on this node` } };
    return { id: await workflows.start(definition, input, clientId === undefined ? {} : { clientId }) };
  } catch (error) {
    return { error: { code: error instanceof TriageError ? error.code : 'INVALID_INPUT', message: error instanceof Error ? error.message : String(error) } };
  }
}
