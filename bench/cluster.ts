/**
 * (k) A cluster of node processes (bench/cluster-node.ts) on one Redis and one machine.
 *
 * Throughput: N = 1, 2, 3 nodes on a fresh prefix; once the partitions have settled, every node
 * submits its share of no-op payloads at once (windowed `submitMany`) and the run lasts until each
 * node has seen all of its own complete. Node processes' CPU (`process.cpuUsage`), Redis's
 * (`INFO cpu`) and the whole machine's (`os.cpus`) are sampled over each run, with each node's
 * event-loop utilization, to say what bounds it.
 *
 * Fail-over: 3 nodes; a background stream of payloads is submitted on every node throughout. Each
 * round SIGKILLs a node other than the prober, which right away submits one probe payload to each
 * partition the dead node owned: fail-over time is from the kill until all probes completed. The
 * node is restarted under the same id and the cluster settles before the next kill. At the end,
 * every payload any node acknowledged (the killed ones included) must have completed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ownerOf } from '../src/cluster/assignment.ts';
import { partitionOf } from '../src/core/hash.ts';
import { partitionOfId } from '../src/core/ids.ts';
import { deletePrefix } from '../src/persistence/redis-tools.ts';
import { percentile, round } from './stats.ts';
import { Commands, type Message } from '../test/json-lines.ts';

const NODE_SCRIPT = fileURLToPath(new URL('./cluster-node.ts', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Every node process still running: killed on exit too, so none outlives a bench that failed. */
const alive = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/** A node process driven over its stdin and stdout. */
class BenchNode {
  readonly ready: Promise<void>;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;
  private readonly commands: Commands;

  constructor(prefix: string, readonly nodeId: string, leaseTtlMs: number, partitions: number, redisUrl: string, onAcked: (ids: string[]) => void) {
    this.child = spawn(process.execPath, ['--import', 'tsx', NODE_SCRIPT, prefix, nodeId, String(leaseTtlMs), String(partitions)], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, REDIS_URL: redisUrl },
    });
    alive.add(this.child);
    let markReady: () => void;
    let failReady: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => { markReady = resolve; failReady = reject; });
    this.commands = new Commands(this.child, nodeId, (message) => {
      if (message.ready) markReady();
      if (Array.isArray(message.acked)) onAcked(message.acked as string[]);
    });
    this.exited = new Promise((resolve) => this.child.on('exit', () => {
      alive.delete(this.child);
      failReady(new Error(`node ${nodeId} exited before it was ready`));
      this.commands.failAll(`node ${nodeId} exited`);
      resolve();
    }));
  }

  send<T = Message>(command: Message): Promise<T> {
    return this.commands.send<T>(command);
  }

  kill(): Promise<void> {
    this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Node processes sharing one fresh Redis prefix; `close` kills them and deletes the prefix. */
class BenchCluster {
  readonly nodes = new Map<string, BenchNode>();
  readonly acked: string[] = [];
  readonly prefix = `triage-bench-cluster-${randomBytes(4).toString('hex')}`;

  constructor(readonly redisUrl: string, readonly leaseTtlMs: number, readonly partitions: number) {}

  async start(nodeIds: readonly string[]): Promise<void> {
    await Promise.all(nodeIds.map((id) => this.spawn(id)));
    await this.settled();
  }

  /** Starts (or restarts, under the same id) one node and waits until it has joined. */
  async spawn(nodeId: string): Promise<BenchNode> {
    const node = new BenchNode(this.prefix, nodeId, this.leaseTtlMs, this.partitions, this.redisUrl, (ids) => this.acked.push(...ids));
    this.nodes.set(nodeId, node);
    await node.ready;
    return node;
  }

  node(nodeId: string): BenchNode {
    const node = this.nodes.get(nodeId);
    if (!node) throw new Error(`no node ${nodeId}`);
    return node;
  }

  /** The partitions the rendezvous assignment gives `nodeId` among the live nodes. */
  assigned(nodeId: string): number[] {
    const live = [...this.nodes.keys()];
    return Array.from({ length: this.partitions }, (_, p) => p).filter((p) => ownerOf(p, live) === nodeId);
  }

  /** Waits until each live node serves exactly the partitions the assignment gives it. */
  async settled(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const served = await Promise.all([...this.nodes].map(async ([id, node]) => [id, (await node.send<{ local: number[] }>({ cmd: 'local' })).local] as const));
      if (served.every(([id, local]) => JSON.stringify(local) === JSON.stringify(this.assigned(id)))) return;
      if (Date.now() > deadline) throw new Error(`partitions not settled within ${timeoutMs} ms: ${JSON.stringify(served)}`);
      await sleep(50);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((node) => node.kill()));
    this.nodes.clear();
    await deletePrefix(this.redisUrl, this.prefix);
  }
}

async function withCluster<T>(redisUrl: string, leaseTtlMs: number, partitions: number, fn: (cluster: BenchCluster) => Promise<T>): Promise<T> {
  const cluster = new BenchCluster(redisUrl, leaseTtlMs, partitions);
  try {
    return await fn(cluster);
  } finally {
    await cluster.close();
  }
}

/** Redis's CPU seconds so far (user + system), from `INFO cpu`. */
async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(info.match(new RegExp(`^${name}:([\\d.]+)`, 'm'))?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** The machine's busy and total CPU ms so far, over all cores (other tenants included). */
function machineCpu(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const sum = times.user + times.nice + times.sys + times.irq + times.idle;
    total += sum;
    busy += sum - times.idle;
  }
  return { busy, total };
}

export interface ThroughputRun {
  readonly perSecond: number;
  /** CPU used over the run, in cores (CPU seconds per wall second). */
  readonly nodeCores: number;
  /** The busiest node's event-loop utilization (0–1): near 1 with cores to spare, its one JS thread is the limit. */
  readonly nodeLoop: number;
  readonly redisCores: number;
  readonly benchCores: number;
  /** Everything the machine ran, all tenants included, in cores. */
  readonly machineCores: number;
}

export interface ClusterThroughput {
  readonly nodes: number;
  readonly payloads: number;
  readonly runs: readonly ThroughputRun[];
  /** The run with the median throughput. */
  readonly median: ThroughputRun;
}

/** No-op payloads submitted from every node at once, split evenly, submit → all complete: payloads/s. */
export function clusterThroughput(opts: { redisUrl: string; nodes: number; partitions: number; payloads: number; runs: number; chunk: number; inFlight: number }): Promise<ClusterThroughput> {
  return withCluster(opts.redisUrl, 5_000, opts.partitions, async (cluster) => {
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    await cluster.start(ids);
    const share = Math.floor(opts.payloads / opts.nodes);
    const flood = (label: string, n: number) => Promise.all(ids.map((id) => cluster.node(id).send<{ ms: number; cpuMs: number; loop: number }>({
      cmd: 'flood', n, chunk: opts.chunk, inFlight: opts.inFlight, clientId: `${label}-${id}`, timeoutMs: 300_000,
    })));
    await flood('warmup', Math.min(share, 2_000)); // JIT and connections warm before the measured runs
    const redis = new Redis(opts.redisUrl);
    const runs: ThroughputRun[] = [];
    try {
      for (let run = 0; run < opts.runs; run++) {
        const [redisBefore, machineBefore, benchBefore] = [await redisCpuSeconds(redis), machineCpu(), process.cpuUsage()];
        const started = performance.now();
        const answers = await flood(`run${run}`, share);
        const seconds = (performance.now() - started) / 1_000;
        const bench = process.cpuUsage(benchBefore);
        const machine = machineCpu();
        runs.push({
          perSecond: (share * opts.nodes) / seconds,
          nodeCores: answers.reduce((sum, a) => sum + a.cpuMs, 0) / 1_000 / seconds,
          nodeLoop: Math.max(...answers.map((a) => a.loop)),
          redisCores: ((await redisCpuSeconds(redis)) - redisBefore) / seconds,
          benchCores: (bench.user + bench.system) / 1e6 / seconds,
          // os.cpus() times are ms summed over cores; their share of the total scales to the core count.
          machineCores: ((machine.busy - machineBefore.busy) / (machine.total - machineBefore.total)) * cpus().length,
        });
      }
    } finally {
      await redis.quit();
    }
    const sorted = [...runs].sort((a, b) => a.perSecond - b.perSecond);
    return { nodes: opts.nodes, payloads: share * opts.nodes, runs, median: sorted[Math.ceil(sorted.length / 2) - 1] as ThroughputRun };
  });
}

/** What the figures of one run say bounds it: every limit it reached, with the CPU split. */
export function throughputBound(run: ThroughputRun, cores = cpus().length): string {
  const others = Math.max(0, run.machineCores - run.nodeCores - run.redisCores - run.benchCores);
  const split = `nodes ${round(run.nodeCores)} + Redis ${round(run.redisCores)} + bench ${round(run.benchCores)} + other processes ${round(others)} = ${round(run.machineCores)} of ${cores} cores`;
  const limits: string[] = [];
  if (run.redisCores >= 0.9) limits.push('Redis\'s one thread');
  // With every core busy, a node's event loop also counts the time it waits for a core: only the cores are sure.
  if (run.machineCores >= cores * 0.9) limits.push(`the machine's ${cores} cores`);
  else if (run.nodeLoop >= 0.9) limits.push(`a node's JS thread (event loop ${Math.round(run.nodeLoop * 100)}% busy)`);
  return `${limits.length > 0 ? `saturated: ${limits.join(', ')}` : 'nothing saturated (latency-bound)'}; ${split}`;
}

/** A shard key of `partition` (the first `<salt>-<k>` that hashes there). */
function shardKeyFor(partition: number, partitions: number, salt: string): string {
  for (let k = 0; ; k++) {
    const key = `${salt}-${k}`;
    if (partitionOf(key, partitions) === partition) return key;
  }
}

export interface ClusterFailover {
  readonly leaseTtlMs: number;
  /** Per kill: the node killed, how many partitions it owned, ms until they were all served again. */
  readonly kills: ReadonlyArray<{ victim: string; partitions: number; ms: number }>;
  readonly p50: number;
  readonly p99: number;
  /** Background payloads acknowledged by any node during the rounds (the killed nodes' included). */
  readonly acknowledged: number;
  /** Of those, how many had no completed event on the checking node and were looked up. */
  readonly lookedUp: number;
  readonly lost: number;
  readonly lostIds: readonly string[];
}

/** SIGKILL a node `kills` times (alternating between the two that do not probe) under a background stream. */
export function clusterFailover(opts: { redisUrl: string; partitions: number; leaseTtlMs: number; kills: number; stream: { everyMs: number; size: number; ms: number } }): Promise<ClusterFailover> {
  return withCluster(opts.redisUrl, opts.leaseTtlMs, opts.partitions, async (cluster) => {
    const prober = 'a';
    const victims = ['b', 'c'];
    await cluster.start([prober, ...victims]);
    const streamCommand = { cmd: 'stream', ...opts.stream };
    await Promise.all([...cluster.nodes.values()].map((node) => node.send(streamCommand)));
    const kills: Array<{ victim: string; partitions: number; ms: number }> = [];
    for (let round = 0; round < opts.kills; round++) {
      // Let the stream put work on every node (some of it running) before the kill.
      await sleep(300 + Math.random() * 400);
      const victim = victims[round % victims.length] as string;
      const owned = cluster.assigned(victim);
      const shardKeys = owned.map((p) => shardKeyFor(p, opts.partitions, `probe${round}`));
      const started = performance.now();
      const exited = cluster.node(victim).kill();
      const probed = await cluster.node(prober).send<{ ids: string[] }>({ cmd: 'probe', shardKeys, timeoutMs: 60_000 });
      const ms = performance.now() - started;
      const landed = probed.ids.map((id) => partitionOfId(id, opts.partitions));
      if (JSON.stringify(landed) !== JSON.stringify(owned)) throw new Error(`probes landed in ${JSON.stringify(landed)}, not ${JSON.stringify(owned)}`);
      kills.push({ victim, partitions: owned.length, ms });
      await exited;
      const restarted = await cluster.spawn(victim);
      await restarted.send(streamCommand);
      await cluster.settled();
    }
    await Promise.all([...cluster.nodes.values()].map((node) => node.send({ cmd: 'stream-stop' })));
    const acknowledged = [...new Set(cluster.acked)];
    const checked = await cluster.node(prober).send<{ lookedUp: number; missing: string[] }>({ cmd: 'check', ids: acknowledged, timeoutMs: 60_000 });
    const times = kills.map((k) => k.ms);
    return {
      leaseTtlMs: opts.leaseTtlMs, kills, p50: percentile(times, 50), p99: percentile(times, 99),
      acknowledged: acknowledged.length, lookedUp: checked.lookedUp, lost: checked.missing.length, lostIds: checked.missing.slice(0, 20),
    };
  });
}
