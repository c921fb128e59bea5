/**
 * Payload ids: a per-runtime random prefix and a counter (unique without coordination, cheap on the
 * hot path), suffixed with the owning partition so `get`/`cancel` find it without a directory.
 */
import { createHash, randomBytes } from 'node:crypto';
import { FNV_OFFSET, fnvStep } from './hash.ts';

export class IdGenerator {
  private readonly prefix = randomBytes(6).toString('base64url');
  /** The hash of the prefix (hash.ts), so an id's hash continues from it over the counter alone. */
  private readonly prefixHash = fnvStep(FNV_OFFSET, this.prefix);
  private counter = 0;
  /** The partition of the id `nextOwned` made last. */
  lastPartition = 0;

  /** The unique part; the partition is appended once known. */
  next(): string {
    return `${this.prefix}${(this.counter++).toString(36)}`;
  }

  /**
   * A whole id whose partition is its unique part's (`partitionOf(unique)`, as `withPartition(next(), …)`
   * would give), in `lastPartition`: the hash runs over the counter only, and no unique string is made
   * on the side.
   */
  nextOwned(partitions: number): string {
    const count = (this.counter++).toString(36);
    const partition = (fnvStep(this.prefixHash, count) >>> 0) % partitions;
    this.lastPartition = partition;
    return withPartition(this.prefix + count, partition);
  }
}

export function withPartition(unique: string, partition: number): string {
  const id = `${unique}.${partition.toString(36)}`;
  // V8 builds a concatenation of 13+ characters as a rope; reading a character flattens it while it
  // is young, and the next scavenge drops the rope. A million queued ids keep ~60 bytes each less.
  id.charCodeAt(0);
  return id;
}

/** The partition encoded in an id, or undefined when the id is not one of ours. */
export function partitionOfId(id: string, partitions: number): number | undefined {
  const dot = id.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const suffix = id.slice(dot + 1);
  if (!/^[0-9a-z]+$/.test(suffix)) return undefined;
  const partition = parseInt(suffix, 36);
  return partition < partitions ? partition : undefined;
}

/** The alphabet of node ids (and so of homes, `<node>.<start>`): readable, brace-free, no '@'. */
export const NODE_ID_PATTERN = /^[\w.:-]+$/;

/**
 * A workflow instance id in a cluster names the home that runs it (`wf-<unique>@<home>`), so any
 * node finds the instance's node from the home's lease without asking around. '@' is not allowed in
 * node ids, so the split is unambiguous.
 */
export function withHome(id: string, home: string): string {
  return `${id}@${home}`;
}

/** The home named in an instance id, or undefined (an embedded runtime's id, or no id of ours). */
export function homeOfId(id: string): string | undefined {
  const home = id.slice(id.lastIndexOf('@') + 1);
  return home !== id && NODE_ID_PATTERN.test(home) ? home : undefined;
}

/**
 * The unique part of an id derived from an idempotency key: in a cluster, the node that submits
 * answers before the owner has seen the payload, so a repeated submit must come back with the same id.
 */
export function uniqueOfKey(idempotencyKey: string): string {
  return `k${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 22)}`;
}
