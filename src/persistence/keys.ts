/**
 * Every Redis key Triage uses comes from here. A persistence key is wrapped in a hash tag
 * (`{…}`) so an actor's journal and snapshot land in the same Redis Cluster slot and one
 * script can touch both. A key `<group>/<name>` is tagged with its group alone, so the actors of
 * one group (a cluster node's home) share one slot with each other and with the group's lease.
 */
export interface RedisKeys {
  readonly prefix: string;
  journal(key: string): string;
  snapshot(key: string): string;
  /** Pattern matching every key under the prefix (for cleanup in tests and tools). */
  readonly all: string;
}

/** What a key prefix may be made of. */
export const KEY_PREFIX = /^[\w.:-]+$/;

export function redisKeys(prefix: string): RedisKeys {
  if (!KEY_PREFIX.test(prefix)) throw new Error(`key prefix must be letters, digits, . : _ -, got ${JSON.stringify(prefix)}`);
  return {
    prefix,
    journal: (key) => `${prefix}:j:${tagged(key)}`,
    snapshot: (key) => `${prefix}:s:${tagged(key)}`,
    all: `${prefix}:*`,
  };
}

function tagged(key: string): string {
  const slash = key.indexOf('/');
  return slash > 0 ? `{${key.slice(0, slash)}}${key.slice(slash)}` : `{${key}}`;
}
