// Runs the BullMQ reference measurements alone, with the default sizes.
// Usage: node --import tsx bench/bullmq-standalone.ts   (REDIS_URL optional)
import { bullmqQos, bullmqThroughput, bullmqTimers } from './bullmq.ts';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  console.log(`  (${label} took ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  return result;
}

const ms = (v: number): string => `${v.toFixed(2)} ms`;

console.log(`BullMQ reference against ${redisUrl}`);

const throughput = await timed('throughput', () => bullmqThroughput({ redisUrl, jobs: 20_000, concurrency: 100 }));
console.log(`throughput: ${Math.round(throughput)} jobs/s (20,000 no-op jobs, priorities 1..10, concurrency 100)`);

const qos = await timed('qos', () =>
  bullmqQos({ redisUrl, highJobs: 500, gapMs: 5, floodJobs: 20_000, floodJobMs: 2, concurrency: 10 }),
);
console.log(`qos alone: p50 ${ms(qos.aloneP50)}  p99 ${ms(qos.aloneP99)}`);
console.log(`qos flood: p50 ${ms(qos.floodP50)}  p99 ${ms(qos.floodP99)}`);

const timers = await timed('timers', () => bullmqTimers({ redisUrl, timers: 100_000, spreadMs: 5_000 }));
console.log(`timers lateness: p50 ${ms(timers.p50)}  p99 ${ms(timers.p99)} (100,000 over 5,000 ms)`);
