/**
 * The runtime's side of a cluster node: what happens here when a partition's lease is acquired,
 * handed over or lost, when another node hands this one payloads or asks about one, and when
 * another node's partitions publish events.
 */
import type { PartitionMessage } from '../../actors/partition/messages.ts';
import type { PartitionState } from '../../actors/partition/state.ts';
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
  /** Counts what a recovered partition brought back. */
  recovered(counts: { records: number; rerun: number; deferred: number }): void;
}

/** The partition's payloads waiting in the ledger: this node's coordinator stops tracking them when it goes. */
function ledgerIdsOf(state: PartitionState): string[] {
  const ids: string[] = [];
  for (const record of state.records.values()) if (record.status === 'deferred' && record.ledgerId !== undefined) ids.push(record.ledgerId);
  return ids;
}

export function clusterHost(deps: ClusterHostDeps): ClusterHost {
  const { partitions, coordination, logger } = deps;
  const forget = (partition: number) => {
    const state = partitions.get(partition)?.state();
    const ids = state ? ledgerIdsOf(state) : [];
    if (ids.length > 0) coordination.partitionWiring.unledger(ids);
  };
  return {
    async acquire(partition) {
      const recovered = partitions.spawn(await partitions.load(partition));
      deps.recovered(recovered);
      if (recovered.rerun > 0) logger.warn('payloads that were running at the partition\'s last owner run again', { partition, rerun: recovered.rerun });
      coordination.recoverLedger([partitions.get(partition)!.state()]);
    },
    async handOver(partition) {
      forget(partition);
      await partitions.handOver(partition, deps.handoverTimeoutMs);
    },
    drop(partition) {
      forget(partition);
      partitions.drop(partition);
    },
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
    remoteEvents(events) {
      for (const event of events) deps.deliverEvent(event as PayloadEvent);
    },
    report(what, error) {
      logger.warn(what, { error: String(error) });
    },
  };
}
