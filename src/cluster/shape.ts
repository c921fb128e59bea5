/**
 * The cluster's shape: what every node of one cluster must agree on, because it decides where data
 * lives. The partition count routes every payload (`hash(shardKey) mod P`) and names every
 * partition's keys; the key layout version names the rest. The first node records both in Redis;
 * a node that disagrees is refused at start, before it writes anything, instead of leaving
 * partitions no node owns.
 */
import type { Redis } from 'ioredis';
import { TriageError } from '../errors.ts';
import { KEY_LAYOUT_VERSION, type ClusterKeys } from './keys.ts';
import { SHAPE_AGREE } from './scripts.ts';

export interface ClusterShape {
  readonly partitions: number;
  readonly layout: number;
}

type ShapeRedis = Redis & { triageShapeAgree(shape: string, partitions: string, layout: string): Promise<(string | null)[]> };

/** Records this node's shape if none is recorded; throws `CLUSTER_SHAPE_MISMATCH` when the recorded one differs. */
export async function agreeOnShape(client: Redis, keys: ClusterKeys, partitions: number, layout = KEY_LAYOUT_VERSION): Promise<ClusterShape> {
  client.defineCommand('triageShapeAgree', { numberOfKeys: 1, lua: SHAPE_AGREE });
  const [storedPartitions, storedLayout] = await (client as ShapeRedis).triageShapeAgree(keys.shape, String(partitions), String(layout));
  const recorded = { partitions: Number(storedPartitions), layout: Number(storedLayout) };
  const problems: string[] = [];
  if (recorded.partitions !== partitions) problems.push(`${recorded.partitions} partitions, this node ${partitions} (start it with --partitions ${recorded.partitions})`);
  if (recorded.layout !== layout) problems.push(`key layout version ${recorded.layout}, this node ${layout} (a node of another Triage version)`);
  if (problems.length > 0) {
    throw new TriageError('CLUSTER_SHAPE_MISMATCH', `the cluster under prefix ${keys.prefix} has ${problems.join('; ')}`);
  }
  return recorded;
}

/** The recorded shape, or undefined before any node started (a producer client reads it). */
export async function readShape(client: Redis, keys: ClusterKeys): Promise<ClusterShape | undefined> {
  const [partitions, layout] = await client.hmget(keys.shape, 'partitions', 'layout');
  return partitions == null || layout == null ? undefined : { partitions: Number(partitions), layout: Number(layout) };
}
