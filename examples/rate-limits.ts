// Rate limits and concurrency keys: an external API allows 20 calls a second, and each account
// must be synced by one call at a time. Payloads a limit holds wait in their queue; nothing fails.
import { createRuntime, silentLogger } from '../src/index.ts';

export interface RateLimitsReport {
  /** Calls started in the first second (the API's limit: 20, and a burst of 2). */
  readonly firstSecond: number;
  /** Most calls of one account running at once. */
  readonly mostPerAccount: number;
  /** What the limits held back while the first calls ran. */
  readonly heldAtStart: ReadonlyArray<{ readonly scope: string; readonly held: number }>;
  readonly completed: number;
}

export async function rateLimits(): Promise<RateLimitsReport> {
  const runtime = createRuntime({
    logger: silentLogger,
    limits: {
      types: { 'sync-account': { perSecond: 20, burst: 2 } },
      keys: { default: { maxRunning: 1 } }, // each concurrencyKey: one at a time
    },
  });
  const started: number[] = [];
  const running = new Map<string, number>();
  let mostPerAccount = 0;
  runtime.handle('sync-account', async (data: { account: string }) => {
    started.push(Date.now());
    const now = (running.get(data.account) ?? 0) + 1;
    running.set(data.account, now);
    mostPerAccount = Math.max(mostPerAccount, now);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the API call
    running.set(data.account, now - 1);
  });

  const t0 = Date.now();
  const accounts = ['acme', 'globex', 'initech'];
  const ids = await runtime.submitMany(Array.from({ length: 30 }, (_, n) => {
    const account = accounts[n % accounts.length] as string;
    return { type: 'sync-account', data: { account }, clientId: account, concurrencyKey: account };
  }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const heldAtStart = runtime.limits().scopes.filter((s) => s.held > 0).map(({ scope, held }) => ({ scope, held }));
  await Promise.all(ids.map((id) => runtime.waitFor(id)));
  await runtime.stop({ drain: true });
  return { firstSecond: started.filter((t) => t - t0 < 1_000).length, mostPerAccount, heldAtStart, completed: started.length };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await rateLimits(), null, 2));
