/** ioredis plumbing the cluster files share. */
import type { ChainableCommander } from 'ioredis';

/**
 * Runs a pipeline or transaction and throws its first command error: `exec` itself resolves even
 * when commands inside failed, which would let a failed write pass for a done one.
 */
export async function execAll(batch: ChainableCommander): Promise<unknown[]> {
  const results = (await batch.exec()) ?? [];
  const failed = results.find(([error]) => error);
  if (failed) throw failed[0];
  return results.map(([, value]) => value);
}
