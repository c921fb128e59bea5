/**
 * Real-Redis helpers for tests: a fresh key prefix per test, and cleanup of everything under it.
 * Importing it checks that Redis answers: a test file that needs it fails at once, in one line
 * saying how to start it, instead of hanging.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { deletePrefix } from '../src/persistence/redis-tools.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function requireRedis(): Promise<void> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, commandTimeout: 2_000, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  probe.on('error', () => {}); // the failure is reported below
  try {
    await probe.connect();
    await probe.ping();
  } catch {
    process.stderr.write(`These tests need Redis at ${REDIS_URL}, which does not answer: start one with \`redis-server --port 6379 --save ''\` or set REDIS_URL.\n`);
    process.exit(1);
  } finally {
    probe.disconnect();
  }
}
await requireRedis();

export function freshPrefix(label: string): string {
  return `triage-test-${label}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix`. */
export const dropPrefix = (prefix: string, url = REDIS_URL): Promise<void> => deletePrefix(url, prefix);
