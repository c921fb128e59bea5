/** What the cluster tests share: a fresh prefix and tracked connections per test, polling with a deadline. */
import { Redis } from 'ioredis';
import { clusterKeys, type ClusterKeys } from '../src/cluster/keys.ts';
import { REDIS_URL, dropPrefix, freshPrefix } from './redis-support.ts';

export interface ClusterContext {
  readonly keys: ClusterKeys;
  /** A connection of the test's own; all are closed when the test ends. */
  open(): Redis;
  /** A connection shared by the test. */
  readonly redis: Redis;
}

/** Runs `fn` against a fresh prefix, then closes every connection it opened and deletes the keys. */
export function withCluster(label: string, fn: (ctx: ClusterContext) => Promise<void>): () => Promise<void> {
  return async () => {
    const prefix = freshPrefix(`cluster-${label}`);
    const opened: Redis[] = [];
    const open = () => {
      const client = new Redis(REDIS_URL);
      opened.push(client);
      return client;
    };
    try {
      await fn({ keys: clusterKeys(prefix), open, redis: open() });
    } finally {
      await Promise.all(opened.map((c) => c.quit().catch(() => c.disconnect())));
      await dropPrefix(prefix);
    }
  };
}

/** Polls `predicate` every 10 ms until it holds; fails after `ms`. */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A clock that moves only when told to, for lease deadlines. */
export function manualClock(start = 1_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}
