/**
 * The one way a message reaches a partition: its actor when it runs here; in a cluster, otherwise
 * its owner (submits through the owner's inbox, decisions through its mail). Submits, grants,
 * outcomes and the coordinator's decisions all go through it, so the main path reads forward:
 * submissions → router → partition → pool → router → partition.
 */
import type { EnqueueBatch, PartitionMessage } from '../../actors/partition/messages.ts';
import type { ClusterNode } from '../cluster/cluster-node.ts';
import type { Logger } from '../execution/handlers.ts';
import type { ExecutionPool } from '../execution/pool.ts';
import type { Grant, Outcome, PartitionPort } from '../execution/protocol.ts';
import { followingOwner, toOwner } from './cluster-host.ts';
import type { PartitionSet } from './partition-set.ts';

/** Where a batch of submits goes (the submit batcher's only collaborator). */
export interface EnqueueSink {
  enqueue(partition: number, batch: EnqueueBatch): void;
}

export class PartitionRouter implements PartitionPort, EnqueueSink {
  private partitions: PartitionSet | undefined;
  private pool: ExecutionPool | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly cluster: ClusterNode | undefined,
  ) {}

  /** The partitions and the pool it routes between: they are built after it, because they send through it. */
  connect(partitions: PartitionSet, pool: ExecutionPool): void {
    this.partitions = partitions;
    this.pool = pool;
  }

  enqueue(partition: number, batch: EnqueueBatch): void {
    this.send(partition, { type: 'enqueue', batch });
  }

  grants(partition: number, grants: Grant[]): void {
    this.send(partition, { type: 'grant', grants });
  }

  outcomes(partition: number, outcomes: Outcome[]): void {
    this.send(partition, { type: 'outcomes', outcomes });
  }

  /**
   * Grants and outcomes for a partition that left this node meanwhile are void: its slots go back,
   * and its new owner reruns what ran.
   */
  send(partition: number, message: PartitionMessage): void {
    const { partitions, pool, cluster } = this;
    if (!partitions || !pool) throw new Error('the partition router is not connected yet');
    const local = partitions.get(partition);
    if (local && cluster && message.type === 'enqueue') {
      return local.ref.dispatch({ type: 'enqueue', batch: followingOwner(cluster, pool, this.logger, partition, message.batch) });
    }
    if (local) return local.ref.dispatch(message);
    if (!cluster) throw new Error(`partition ${partition} does not exist`);
    toOwner(cluster, pool, this.logger, partition, message);
  }
}
