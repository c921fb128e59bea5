/**
 * Every Redis key Triage uses comes from here. A persistence key is wrapped in a hash tag
 * (`{…}`) so an actor's journal and snapshot land in the same Redis Cluster slot and one
 * script can touch both.
 */
export interface RedisKeys {
  readonly prefix: string;
  journal(key: string): string;
  snapshot(key: string): string;
  /** Pattern matching every key under the prefix (for cleanup in tests and tools). */
  readonly all: string;
}

export function redisKeys(prefix: string): RedisKeys {
  if (!/^[\w.:-]+$/.test(prefix)) throw new Error(`key prefix must be letters, digits, . : _ -, got ${JSON.stringify(prefix)}`);
  return {
    prefix,
    journal: (key) => `${prefix}:j:{${key}}`,
    snapshot: (key) => `${prefix}:s:{${key}}`,
    all: `${prefix}:*`,
  };
}
