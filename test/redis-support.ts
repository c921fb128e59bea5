/** Real-Redis helpers for tests: a fresh key prefix per test, and cleanup of everything under it. */
import { randomBytes } from 'node:crypto';
import { deletePrefix } from '../src/persistence/redis-tools.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function freshPrefix(label: string): string {
  return `triage-test-${label}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`. */
export const dropPrefix = (prefix: string, url = REDIS_URL): Promise<void> => deletePrefix(url, prefix);
