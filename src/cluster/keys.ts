/**
 * Every Redis key of a clustered runtime comes from here, built on the persistence keys of the same
 * prefix. A partition's keys all carry the hash tag `{partition-<i>}` — the tag its journal and
 * snapshot already have — so lease, fencing counter, inbox and journal share one Redis Cluster slot
 * and a single script may check the lease and write the journal atomically. Keys shared by every node
 * (membership, coordinator) carry their own tags, so the scripts over them stay in one slot too.
 */
import { NODE_ID_PATTERN } from '../core/ids.ts';
import { redisKeys, type RedisKeys } from '../persistence/keys.ts';

/** The two keys of one lease: the lease hash {node, token} (expires) and its fencing counter (never expires). */
export interface LeaseRef {
  readonly lease: string;
  readonly fence: string;
}

export interface ClusterKeys {
  readonly prefix: string;
  /** The persistence keys of the same prefix. */
  readonly persistence: RedisKeys;
  /** The persistence key of partition `i` (`partition-<i>`), as the runtime names it. */
  partitionKey(partition: number): string;
  journal(partition: number): string;
  snapshot(partition: number): string;
  /** Lease and fencing counter of partition `i`. */
  partitionLease(partition: number): LeaseRef;
  /** Lease and fencing counter of a home (one node incarnation's dependency graph and workflows). */
  homeLease(home: string): LeaseRef;
  /** Lease and fencing counter of a node id: held by the one process acting as that node (see identity.ts). */
  nodeLease(nodeId: string): LeaseRef;
  /** Hash: the cluster's shape (partition count, key layout version), written by its first node. */
  readonly shape: string;
  /** Set of every home that may hold work: the ones no live node holds are adopted. */
  readonly homes: string;
  /** Stream of submits handed to partition `i`'s owner by any node. */
  inbox(partition: number): string;
  /** Sorted set: node id → time its heartbeat expires. */
  readonly members: string;
  /** Hash: node id → JSON node info. Same slot as `members`. */
  readonly memberInfo: string;
  /** Hash: node id → the payload event types its listeners want relayed from other nodes (JSON). */
  readonly eventInterest: string;
  /** The single lease whose holder runs the coordinator. */
  readonly coordinatorLease: LeaseRef;
  /** Hash of the latest load report of one node. */
  load(nodeId: string): string;
  /** Stream of messages to one node: calls, answers, messages for its partitions. */
  mail(nodeId: string): string;
  /** Stream of the payload events every node sees (ending events of every partition). */
  readonly events: string;
  /** Hash: the token bucket every node leases the starts of one rate limit from (`global`, `type:<t>`). */
  rateBucket(scope: string): string;
  /** Pattern matching every key under the prefix. */
  readonly all: string;
}

/** The version of the key layout below; nodes of one cluster must agree on it (see shape.ts). */
export const KEY_LAYOUT_VERSION = 1;

/** Node ids end up in key names and log lines: keep them to a readable, brace-free alphabet. */
export function checkNodeId(nodeId: string): string {
  if (!NODE_ID_PATTERN.test(nodeId)) throw new Error(`node id must be letters, digits, . : _ -, got ${JSON.stringify(nodeId)}`);
  return nodeId;
}

function checkPartition(partition: number): number {
  if (!Number.isInteger(partition) || partition < 0) throw new Error(`partition must be a whole number ≥ 0, got ${partition}`);
  return partition;
}

/**
 * The persistence keys of a home: its dependency graph and its workflow instances. Grouped under
 * `home-<home>/`, so both share the Redis Cluster slot of the home's lease (see persistence/keys.ts).
 */
export function homeKeys(home: string): [graph: string, workflows: string] {
  return [`home-${home}/dependency-graph`, `home-${home}/workflows`];
}

/** The home of a persistence key of `homeKeys`, or undefined for any other key. */
export function homeOfKey(key: string): string | undefined {
  return /^home-([\w.:-]+)\/(?:dependency-graph|workflows)$/.exec(key)?.[1];
}

/** The partition index of a persistence key `partition-<i>`, or undefined for any other key. */
export function partitionOfKey(key: string): number | undefined {
  const match = /^partition-(\d+)$/.exec(key);
  return match ? Number(match[1]) : undefined;
}

export function clusterKeys(prefix: string): ClusterKeys {
  const persistence = redisKeys(prefix);
  const partitionKey = (partition: number) => `partition-${checkPartition(partition)}`;
  const tagged = (kind: string, partition: number) => `${prefix}:c:${kind}:{${partitionKey(partition)}}`;
  return {
    prefix,
    persistence,
    partitionKey,
    journal: (partition) => persistence.journal(partitionKey(partition)),
    snapshot: (partition) => persistence.snapshot(partitionKey(partition)),
    partitionLease: (partition) => ({ lease: tagged('lease', partition), fence: tagged('fence', partition) }),
    inbox: (partition) => tagged('inbox', partition),
    homeLease: (home) => ({ lease: `${prefix}:c:lease:{home-${checkNodeId(home)}}`, fence: `${prefix}:c:fence:{home-${checkNodeId(home)}}` }),
    nodeLease: (nodeId) => ({ lease: `${prefix}:c:node:{node-${checkNodeId(nodeId)}}`, fence: `${prefix}:c:node-fence:{node-${checkNodeId(nodeId)}}` }),
    shape: `${prefix}:c:{shape}`,
    homes: `${prefix}:c:{homes}`,
    members: `${prefix}:c:{members}:live`,
    memberInfo: `${prefix}:c:{members}:info`,
    eventInterest: `${prefix}:c:{members}:events`,
    coordinatorLease: { lease: `${prefix}:c:{coordinator}:lease`, fence: `${prefix}:c:{coordinator}:fence` },
    load: (nodeId) => `${prefix}:c:load:{${checkNodeId(nodeId)}}`,
    mail: (nodeId) => `${prefix}:c:mail:{${checkNodeId(nodeId)}}`,
    events: `${prefix}:c:{events}`,
    // Encoded: a handler type may hold braces, which would move the key's hash tag.
    rateBucket: (scope) => `${prefix}:c:rate:{${encodeURIComponent(scope)}}`,
    all: persistence.all,
  };
}
