/**
 * What `createRuntime({ cluster })` accepts: every field documented with its default, and every
 * problem with them found at once, before a connection is opened.
 */
import type { FieldProblem } from '../errors.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { redisOptionProblems, type RedisEngineOptions } from '../persistence/redis.ts';
import { checkNodeId } from './keys.ts';

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
  /**
   * How long a node's home (its held dependents and workflow instances) is kept for it without a
   * renewal: a dead node's home is adopted by another node after this, and a node paused longer
   * stops itself. Default 3 × leaseTtlMs.
   */
  readonly homeTtlMs?: number;
}

const CLUSTER_FIELDS = {
  redis: true, nodeId: true, leaseTtlMs: true, handoverTimeoutMs: true, callTimeoutMs: true, adminUrl: true, homeTtlMs: true,
} as const satisfies KnownFields<ClusterOptions>;

/** Every problem with a runtime's `cluster` option, each named `cluster.<field>`. */
export function clusterOptionProblems(options: ClusterOptions): FieldProblem[] {
  const problems = unknownFields(options, CLUSTER_FIELDS, 'cluster', 'is not a cluster option');
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return problems;
  if (options.redis === undefined) problems.push({ field: 'cluster.redis', problem: 'is required: a URL or the Redis options' });
  else problems.push(...redisOptionProblems(options.redis, 'cluster.redis'));
  if (options.nodeId !== undefined) {
    try {
      checkNodeId(options.nodeId);
    } catch (error) {
      problems.push({ field: 'cluster.nodeId', problem: (error as Error).message });
    }
  }
  for (const field of ['leaseTtlMs', 'handoverTimeoutMs', 'callTimeoutMs', 'homeTtlMs'] as const) {
    const value = options[field];
    if (value !== undefined && !(typeof value === 'number' && value >= 50)) problems.push({ field: `cluster.${field}`, problem: 'must be a number of ms ≥ 50' });
  }
  return problems;
}
