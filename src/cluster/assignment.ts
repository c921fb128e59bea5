/**
 * Which node owns which partition: rendezvous (highest-random-weight) hashing. Each node scores
 * every partition with a hash of `<node>:<partition>` and the highest score owns it. Every node
 * computes the same answer from the same live set with no coordination, and a change of the set
 * moves only what it must: a joining node takes only the partitions it now scores highest on, a
 * leaving node gives up only its own.
 */
import { hashString } from '../core/hash.ts';

/** FNV-1a alone barely mixes keys that differ in their last characters; murmur3's finalizer spreads them. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The weight of `nodeId` for `partition`: stable across processes and versions of Node. */
export function weight(nodeId: string, partition: number): number {
  return mix(hashString(`${nodeId}:${partition}`));
}

/** The owner of `partition` among `nodeIds`, or undefined when there is no node. */
export function ownerOf(partition: number, nodeIds: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestWeight = -1;
  for (const node of nodeIds) {
    const w = weight(node, partition);
    // Ties (rare) go to the smaller id, so the answer does not depend on the order of the list.
    if (w > bestWeight || (w === bestWeight && best !== undefined && node < best)) {
      best = node;
      bestWeight = w;
    }
  }
  return best;
}

/**
 * Every node's partitions, ascending. `partitions` is a count (partitions 0…n-1) or a list. Every
 * node gets an entry, possibly empty, so a caller can tell "owns nothing" from "unknown node".
 */
export function assign(partitions: number | readonly number[], nodeIds: Iterable<string>): Map<string, number[]> {
  const nodes = [...new Set(nodeIds)].sort();
  const result = new Map<string, number[]>(nodes.map((node) => [node, []]));
  if (nodes.length === 0) return result;
  const list = typeof partitions === 'number' ? Array.from({ length: partitions }, (_, i) => i) : [...partitions].sort((a, b) => a - b);
  for (const partition of list) result.get(ownerOf(partition, nodes)!)!.push(partition);
  return result;
}
