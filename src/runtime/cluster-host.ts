/**
 * The runtime's side of a cluster node: what happens here when a partition's lease is acquired,
 * handed over or lost, when another node hands this one payloads or asks about one, and when
 * another node's partitions publish events.
 */
import type { PartitionMessage } from '../../actors/partition/messages.ts';
import type { PayloadRecord } from '../../actors/partition/state.ts';
import type { ClusterHost } from '../cluster/cluster-node.ts';
import type { PayloadEvent } from '../events.ts';
import type { Logger } from '../execution/handlers.ts';
import type { Coordination } from '../load/coordination.ts';
import type { Payload } from '../payload.ts';
import type { PartitionSet } from './partition-set.ts';

export interface ClusterHostDeps {
  readonly partitions: PartitionSet;
  readonly coordination: Coordination;
  readonly logger: Logger;
  readonly handoverTimeoutMs: number;
  /** An event of another node's partition, delivered here as if local (listeners, waiters, dependents, workflows). */
  deliverEvent(event: PayloadEvent): void;
  /** This node's actor tree and stats, for the cluster view. */
  describe(op: 'tree' | 'stats'): unknown;
  /** Counts what a recovered partition brought back. */
  recovered(counts: { records: number; rerun: number; deferred: number }): void;
}

export function clusterHost(deps: ClusterHostDeps): ClusterHost {
  const { partitions, coordination, logger } = deps;
  return {
    async acquire(partition) {
      const recovered = await partitions.recover(partition);
      deps.recovered(recovered);
      if (recovered.rerun > 0) logger.warn('payloads that were running at the partition\'s last owner run again', { partition, rerun: recovered.rerun });
      coordination.recoverLedger([partitions.get(partition)!.state()]);
    },
    // The ledger is the elected coordinator's, for the whole cluster: a partition that moves keeps its entries.
    handOver: (partition) => partitions.handOver(partition, deps.handoverTimeoutMs),
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
            settle: (_, result) => {
              if (!result.ok) failure ??= result.error;
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
      return new Promise((resolve) => handle.ref.dispatch(op === 'get' ? { type: 'get', id, reply: resolve } : { type: 'cancel', id, reply: resolve }));
    },
    tell(partition, message: PartitionMessage) {
      const handle = partitions.get(partition);
      if (!handle) return false;
      handle.ref.dispatch(message);
      return true;
    },
    describe: (op) => deps.describe(op),
    coordinate: (message) => coordination.fromCluster(message),
    resendLedger: () => coordination.recoverLedger(partitions.states()),
    remoteEvents(events) {
      for (const event of events) deps.deliverEvent(event as PayloadEvent);
    },
    report(what, error) {
      logger.warn(what, { error: String(error) });
    },
  };
}
