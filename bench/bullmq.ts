// Reference column for Triage's benchmark: the same three measurements run on
// BullMQ against a real Redis, so both engines can be printed side by side.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';
import type { Job, Processor, RedisOptions } from 'bullmq';

export interface BullmqReference {
  throughput: number;
  qos: { aloneP50: number; aloneP99: number; floodP50: number; floodP99: number };
  timers: { p50: number; p99: number };
}

const CHUNK = 1_000;
const TIMER_CONCURRENCY = 100;
// A run that makes no progress for this long is broken (lost connection,
// stuck worker): fail loudly instead of hanging the whole benchmark.
const STALL_MS = 30_000;

/** Nearest-rank percentile, p in [0, 100]; does not mutate its input. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/**
 * No-op jobs submit → complete. Without `wave`: everything is enqueued first, then processed. With
 * `wave`: the producer adds `wave` jobs (priorities 1–4 in turn), waits until they have completed,
 * then adds the next, as the Triage and p-queue columns of (a) do.
 */
export async function bullmqThroughput(opts: { redisUrl: string; jobs: number; concurrency: number; wave?: number }): Promise<number> {
  return withRun(opts.redisUrl, 'throughput', async (run) => {
    const done = new Countdown(opts.jobs);
    const queue = run.queue<Record<string, never>>(done);
    const wave = opts.wave;
    // Without waves, autorun off: enqueue everything first, then process (enqueue-then-process).
    const worker = run.worker<Record<string, never>>(async () => {}, opts.concurrency, wave !== undefined, done);
    let completed = 0;
    worker.on('completed', () => {
      completed++;
      done.tick();
    });
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    const t0 = performance.now();
    if (wave !== undefined) {
      for (let start = 0; start < opts.jobs; start += wave) {
        const end = Math.min(opts.jobs, start + wave);
        for (let from = start; from < end; from += CHUNK) {
          const batch = [];
          for (let i = from; i < Math.min(end, from + CHUNK); i++) batch.push({ name: 'noop', data: {}, opts: { priority: (i % 4) + 1 } });
          await queue.addBulk(batch);
          done.touch();
        }
        while (completed < end) await Promise.race([sleep(1), done.promise]);
      }
      await done.promise;
      return opts.jobs / ((performance.now() - t0) / 1000);
    }
    for (let start = 0; start < opts.jobs; start += CHUNK) {
      const end = Math.min(opts.jobs, start + CHUNK);
      const batch = [];
      for (let i = start; i < end; i++) batch.push({ name: 'noop', data: {}, opts: { priority: (i % 10) + 1 } });
      await queue.addBulk(batch);
      done.touch();
    }
    run.start();
    await done.promise;
    const seconds = (performance.now() - t0) / 1000;
    return opts.jobs / seconds;
  });
}

type QosData = { addedAt?: number };

export async function bullmqQos(opts: {
  redisUrl: string;
  highJobs: number;
  gapMs: number;
  floodJobs: number;
  floodJobMs: number;
  concurrency: number;
}): Promise<BullmqReference['qos']> {
  // Each phase gets its own queue (and worker), obliterated at the end of the
  // phase, so the flood phase starts from a clean queue.
  const alone = await qosPhase(opts, 0);
  const flood = await qosPhase(opts, opts.floodJobs);
  return {
    aloneP50: percentile(alone, 50),
    aloneP99: percentile(alone, 99),
    floodP50: percentile(flood, 50),
    floodP99: percentile(flood, 99),
  };
}

/**
 * (n) A noisy neighbour on one queue: a flood added first, then a trickle at the same priority.
 * BullMQ's open-source version shares nothing per client, so the trickle waits behind the flood, as
 * a user of it would see.
 */
export async function bullmqNoisyNeighbour(opts: {
  redisUrl: string;
  floodJobs: number;
  trickleJobs: number;
  gapMs: number;
  jobMs: number;
  concurrency: number;
}): Promise<{ p50: number; p99: number }> {
  const trickle = { redisUrl: opts.redisUrl, highJobs: opts.trickleJobs, gapMs: opts.gapMs, floodJobMs: opts.jobMs, concurrency: opts.concurrency };
  const waits = await qosPhase(trickle, opts.floodJobs, { flood: 5, trickle: 5 });
  return { p50: percentile(waits, 50), p99: percentile(waits, 99) };
}

/** Returns the waits (ms) of the trickled (high-priority, unless `priorities` says otherwise) jobs. */
async function qosPhase(
  opts: { redisUrl: string; highJobs: number; gapMs: number; floodJobMs: number; concurrency: number },
  floodJobs: number,
  priorities = { flood: 10, trickle: 1 },
): Promise<number[]> {
  // Teardown closes the worker first, which stops it pulling the rest of the flood.
  return withRun(opts.redisUrl, floodJobs > 0 ? 'qos-flood' : 'qos-alone', async (run) => {
    const waits: number[] = [];
    const highStarted = new Countdown(opts.highJobs);
    let floodStarted = 0;
    const queue = run.queue<QosData>(highStarted);
    const worker = run.worker<QosData>(
      async (job) => {
        const started = performance.now();
        if (job.data.addedAt !== undefined) {
          waits.push(started - job.data.addedAt);
          highStarted.tick();
        } else {
          floodStarted++;
        }
        await sleep(opts.floodJobMs);
      },
      opts.concurrency,
      true,
      highStarted,
    );
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    for (let start = 0; start < floodJobs; start += CHUNK) {
      const n = Math.min(CHUNK, floodJobs - start);
      await queue.addBulk(Array.from({ length: n }, () => ({ name: 'low', data: {}, opts: { priority: priorities.flood } })));
      highStarted.touch();
    }
    // Fixed schedule (not sleep-after-add) so add latency does not stretch the gaps.
    const t0 = performance.now();
    for (let i = 0; i < opts.highJobs; i++) {
      const ahead = t0 + i * opts.gapMs - performance.now();
      if (ahead > 0) await sleep(ahead);
      await queue.add('high', { addedAt: performance.now() }, { priority: priorities.trickle });
      highStarted.touch();
    }
    await highStarted.promise;
    if (floodJobs > 0 && floodStarted >= floodJobs) {
      console.warn(`bullmq: the flood of ${floodJobs} drained before the last trickled job started; the waits during the flood are partly "alone"`);
    }
    return waits;
  });
}

type TimerData = { due: number };

export async function bullmqTimers(opts: { redisUrl: string; timers: number; spreadMs: number }): Promise<BullmqReference['timers']> {
  return withRun(opts.redisUrl, 'timers', async (run) => {
    const lateness: number[] = [];
    // Timers may legitimately be silent for up to the whole spread.
    const done = new Countdown(opts.timers, STALL_MS + opts.spreadMs);
    const queue = run.queue<TimerData>(done);
    const worker = run.worker<TimerData>(
      async (job) => {
        lateness.push(performance.now() - job.data.due);
        done.tick();
      },
      TIMER_CONCURRENCY,
      true,
      done,
    );
    await Promise.all([queue.waitUntilReady(), worker.waitUntilReady()]);

    // Delays evenly spaced over [1, spreadMs] ms (BullMQ takes whole ms and
    // treats 0 as "not delayed"), in a seeded shuffled order so each chunk
    // carries short and long timers alike.
    const delays = Array.from({ length: opts.timers }, (_, i) =>
      Math.max(1, Math.round(((i + 1) / opts.timers) * opts.spreadMs)),
    );
    shuffle(delays, mulberry32(0x7417a6e));
    for (let start = 0; start < opts.timers; start += CHUNK) {
      const chunk = delays.slice(start, start + CHUNK);
      // BullMQ stamps each job with Date.now() when addBulk is called, so the
      // due time is this instant plus the job's delay.
      const now = performance.now();
      await queue.addBulk(chunk.map((delay) => ({ name: 'timer', data: { due: now + delay }, opts: { delay } })));
      done.touch();
    }
    await done.promise;
    return { p50: percentile(lateness, 50), p99: percentile(lateness, 99) };
  });
}

/** Runs `body` on a fresh Run and always tears it down; a teardown error never hides the body's. */
async function withRun<T>(redisUrl: string, name: string, body: (run: Run) => Promise<T>): Promise<T> {
  const run = new Run(redisUrl, name);
  let result: T;
  try {
    result = await body(run);
  } catch (err) {
    await run.close().catch(() => {});
    throw err;
  }
  await run.close();
  return result;
}

/**
 * One benchmark run: a fresh key prefix, the Queue and Worker made under it,
 * and the teardown that closes them and deletes every key they created.
 */
class Run {
  private readonly connection: RedisOptions;
  private readonly prefix = `triage-bench-${randomBytes(6).toString('hex')}`;
  private readonly name: string;
  // Only what teardown needs, so queues/workers of any data type fit.
  private q: Pick<Queue, 'obliterate' | 'close'> | undefined;
  private w: Pick<Worker, 'run' | 'close'> | undefined;
  private waiter: Countdown | undefined;

  constructor(redisUrl: string, name: string) {
    // No automatic reconnects: an unreachable Redis or a dropped connection
    // fails the run instead of retrying forever (BullMQ's default).
    this.connection = { url: redisUrl, retryStrategy: () => null };
    this.name = name;
  }

  /** Queue errors reject `waiter`, like the worker's. */
  queue<D>(waiter: Countdown): Queue<D> {
    const q = new Queue<D>(this.name, {
      connection: this.connection,
      prefix: this.prefix,
      // Completed jobs are not needed afterwards; keeping them would also make
      // obliterate crawl through every one of them.
      defaultJobOptions: { removeOnComplete: true },
    });
    q.on('error', (err) => waiter.fail(err));
    this.q = q;
    return q;
  }

  /** Errors and failed jobs reject `waiter` so a broken run does not hang. */
  worker<D>(processor: Processor<D>, concurrency: number, autorun: boolean, waiter: Countdown): Worker<D> {
    const w = new Worker<D>(this.name, processor, {
      connection: this.connection,
      prefix: this.prefix,
      concurrency,
      autorun,
    });
    w.on('error', (err) => waiter.fail(err));
    w.on('failed', (job: Job<D> | undefined, err: Error) => waiter.fail(new Error(`job ${job?.id ?? '?'} failed: ${err.message}`)));
    this.w = w;
    this.waiter = waiter;
    return w;
  }

  /** Starts the worker created with autorun off. */
  start(): void {
    const { w, waiter } = this;
    w?.run().catch((err: unknown) => waiter?.fail(err instanceof Error ? err : new Error(String(err))));
  }

  async close(): Promise<void> {
    const { q, w } = this;
    try {
      if (w) await w.close();
    } finally {
      if (q) {
        try {
          await q.obliterate({ force: true });
        } finally {
          await q.close();
        }
      }
    }
  }
}

/** Resolves after `target` ticks; rejects on fail() or after `stallMs` without progress. */
class Countdown {
  readonly promise: Promise<void>;
  private left: number;
  private lastProgress = performance.now();
  private settle!: (err?: Error) => void;
  private readonly watchdog: NodeJS.Timeout;

  constructor(target: number, stallMs = STALL_MS) {
    this.left = target;
    this.promise = new Promise<void>((resolve, reject) => {
      this.settle = (err) => {
        clearInterval(this.watchdog);
        if (err) reject(err);
        else resolve();
      };
    });
    // Avoid an unhandled rejection if fail() fires before anyone awaits.
    this.promise.catch(() => {});
    this.watchdog = setInterval(() => {
      if (performance.now() - this.lastProgress > stallMs) {
        this.settle(new Error(`no progress for ${stallMs} ms with ${this.left} still to go`));
      }
    }, 1_000);
    this.watchdog.unref();
    if (target <= 0) this.settle();
  }

  tick(): void {
    this.touch();
    if (--this.left === 0) this.settle();
  }

  /** Progress that is not a tick (a chunk enqueued), to feed the watchdog. */
  touch(): void {
    this.lastProgress = performance.now();
  }

  fail(err: Error): void {
    this.settle(err);
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(values: number[], random: () => number): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = values[i] as number;
    values[i] = values[j] as number;
    values[j] = tmp;
  }
}
