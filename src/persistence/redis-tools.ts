/** Maintenance on a Redis prefix: delete every key under it (tests, benchmarks, operators). */
import { Redis } from 'ioredis';

async function scanPrefix(url: string, prefix: string, onKeys: (redis: Redis, keys: string[]) => Promise<unknown>): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await onKeys(redis, keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}

/** Deletes every key under `prefix`. */
export function deletePrefix(url: string, prefix: string): Promise<void> {
  return scanPrefix(url, prefix, (redis, keys) => redis.del(...keys));
}
