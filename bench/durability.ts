/**
 * Durability figures: submit→complete throughput and submit latency on Redis next to the
 * in-memory default, and snapshot / recovery time with many pending payloads.
 */
import { randomBytes } from 'node:crypto';
import { deletePrefix } from '../src/persistence/redis-tools.ts';
import { createRuntime, silentLogger, type CreateRuntimeOptions, type Runtime } from '../src/index.ts';
import { percentile } from './stats.ts';
import { produceInWaves } from './waves.ts';

export type Store = { kind: 'memory' } | { kind: 'redis'; url: string };

function storeOptions(store: Store, prefix: string): Partial<CreateRuntimeOptions> {
  return store.kind === 'memory' ? {} : { redis: { url: store.url, prefix } };
}

async function withRuntime<T>(store: Store, options: Partial<CreateRuntimeOptions>, fn: (rt: Runtime, prefix: string) => Promise<T>): Promise<T> {
  const prefix = `triage-bench-${randomBytes(4).toString('hex')}`;
  const rt = createRuntime({ partitions: 16, logger: silentLogger, ...storeOptions(store, prefix), ...options });
  try {
    return await fn(rt, prefix);
  } finally {
    await rt.stop();
    if (store.kind === 'redis') await deletePrefix(store.url, prefix);
  }
}

/**
 * No-op payloads by (a)'s producer (bench/waves.ts: waves submitted and awaited), submit → complete:
 * payloads/s, and this process's CPU time per payload, µs (user + system, all its threads: less
 * sensitive to a busy machine than the rate, which also counts the time other work held the cores).
 */
export function storeThroughput(store: Store, opts: { payloads: number; batch: number; concurrency: number }): Promise<{ perSecond: number; cpuMicros: number }> {
  return withRuntime(store, { concurrency: opts.concurrency, retainTerminal: 1_000 }, async (rt) => {
    rt.handle('noop', () => undefined);
    await rt.ready();
    const cpu = process.cpuUsage();
    const started = performance.now();
    await produceInWaves(rt, opts);
    const perSecond = opts.payloads / ((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu);
    return { perSecond, cpuMicros: (used.user + used.system) / opts.payloads };
  });
}

/** Latency of single `submit` calls (8 callers in parallel), ms. */
export function submitLatency(store: Store, opts: { submits: number }): Promise<{ p50: number; p99: number }> {
  return withRuntime(store, { concurrency: 64 }, async (rt) => {
    rt.handle('noop', () => undefined);
    await rt.ready();
    const latencies: number[] = [];
    const perCaller = Math.ceil(opts.submits / 8);
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < perCaller; i++) {
        const t = performance.now();
        await rt.submit({ type: 'noop' });
        latencies.push(performance.now() - t);
      }
    }));
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  });
}

/** Time to snapshot `pending` queued payloads, and for a fresh runtime to recover them. */
export async function snapshotAndRecovery(url: string, opts: { pending: number }): Promise<{ snapshotMs: number; recoveryMs: number; recovered: number }> {
  const prefix = `triage-bench-${randomBytes(4).toString('hex')}`;
  const options: CreateRuntimeOptions = { partitions: 16, concurrency: 1, logger: silentLogger, redis: { url, prefix }, snapshotEvery: 1_000_000 };
  try {
    const first = createRuntime(options);
    first.handle('block', () => new Promise(() => {}));
    first.handle('work', () => undefined);
    await first.submit({ type: 'block', priority: 'critical' });
    for (let i = 0; i < opts.pending; i += 10_000) {
      await first.submitMany(Array.from({ length: Math.min(10_000, opts.pending - i) }, (_, j) => ({ type: 'work', data: { n: i + j }, priority: ((i + j) % 10) + 1 })));
    }
    await first.idle();
    const t = performance.now();
    await first.snapshotNow();
    const snapshotMs = performance.now() - t;
    await first.stop();
    const second = createRuntime({ ...options, concurrency: 32 });
    second.handle('block', () => undefined);
    second.handle('work', () => undefined);
    const r = performance.now();
    await second.ready();
    const recoveryMs = performance.now() - r;
    const recovered = second.recovery?.records ?? 0;
    await second.stop();
    return { snapshotMs, recoveryMs, recovered };
  } finally {
    await deletePrefix(url, prefix);
  }
}
