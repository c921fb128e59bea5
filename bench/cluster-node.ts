/**
 * One node of the cluster bench (bench/cluster.ts), in its own process:
 * `node --import tsx bench/cluster-node.ts <prefix> <nodeId> <leaseTtlMs> <partitions>`.
 * Prints `{"ready":<nodeId>}` once it has joined, then answers one JSON command per stdin line
 * with one JSON line carrying the command's `seq`:
 *   local                      the partitions it serves
 *   flood {n, chunk, inFlight} submits n no-op payloads in windowed chunks; answers once all completed,
 *                              with the wall time, this process's CPU time and its event-loop utilization
 *   stream {everyMs, size, ms} starts submitting `size` payloads (each sleeping `ms`) every `everyMs`,
 *                              printing `{"acked":[ids]}` per acknowledged chunk, until `stream-stop`
 *   probe {shardKeys}          submits one payload per shard key; answers once they all completed
 *   check {ids, timeoutMs}     which of these ids completed, and which did not within the timeout
 * It exits when its stdin closes, so a bench that dies takes its nodes with it.
 */
import { createRuntime, silentLogger, stderrLogger, type PayloadInput } from '../src/index.ts';
import { serveCommands } from '../test/json-lines.ts';

const [prefix = 'triage-bench-cluster', nodeId = 'n1', ttl = '1000', partitions = '16'] = process.argv.slice(2);
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const runtime = createRuntime({
  partitions: Number(partitions),
  concurrency: 256,
  logger: process.env.CLUSTER_NODE_LOG ? stderrLogger : silentLogger,
  cluster: { redis: { url, prefix }, nodeId, leaseTtlMs: Number(ttl), handoverTimeoutMs: 10_000 },
});
runtime.handle('noop', (data: { ms?: number } | undefined) => (data?.ms ? sleep(data.ms) : undefined));

// Every node sees every partition's ending events, so counting by client id tells when a node's own
// submits are all done without asking the owners one payload at a time.
const completedByClient = new Map<string, number>();
const clientWaiters = new Map<string, { n: number; resolve: () => void }>();
/** Stream and probe payloads seen completing, for the loss check. */
const completedIds = new Set<string>();
runtime.events.on('completed', (event) => {
  const count = (completedByClient.get(event.clientId) ?? 0) + 1;
  completedByClient.set(event.clientId, count);
  const waiter = clientWaiters.get(event.clientId);
  if (waiter && count >= waiter.n) {
    clientWaiters.delete(event.clientId);
    waiter.resolve();
  }
  if (event.clientId === 'stream' || event.clientId === 'probe') completedIds.add(event.id);
});

function allCompleted(clientId: string, n: number): Promise<void> {
  if ((completedByClient.get(clientId) ?? 0) >= n) return Promise.resolve();
  return new Promise((resolve) => clientWaiters.set(clientId, { n, resolve }));
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

let streaming = false;
let streamLoop: Promise<{ submitted: number; errors: number }> | undefined;

async function stream(everyMs: number, size: number, ms: number): Promise<{ submitted: number; errors: number }> {
  let submitted = 0;
  let errors = 0;
  while (streaming) {
    try {
      const ids = await runtime.submitMany(Array.from({ length: size }, () => ({ type: 'noop', clientId: 'stream', data: { ms } })));
      submitted += ids.length;
      out({ acked: ids });
    } catch {
      errors++; // not acknowledged, so not owed
    }
    await sleep(everyMs);
  }
  return { submitted, errors };
}

type Command =
  | { cmd: 'local' }
  | { cmd: 'flood'; n: number; chunk: number; inFlight: number; clientId: string; timeoutMs: number }
  | { cmd: 'stream'; everyMs: number; size: number; ms: number }
  | { cmd: 'stream-stop' }
  | { cmd: 'probe'; shardKeys: string[]; timeoutMs: number }
  | { cmd: 'check'; ids: string[]; timeoutMs: number };

const out = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function perform(command: Command): Promise<unknown> {
  switch (command.cmd) {
    case 'local':
      return { local: runtime.cluster!.local() };
    case 'flood': {
      const cpu = process.cpuUsage();
      const loop = performance.eventLoopUtilization();
      const started = performance.now();
      const done = allCompleted(command.clientId, command.n);
      const window = new Set<Promise<unknown>>();
      for (let offset = 0; offset < command.n; offset += command.chunk) {
        const size = Math.min(command.chunk, command.n - offset);
        const inputs: PayloadInput[] = Array.from({ length: size }, () => ({ type: 'noop', clientId: command.clientId }));
        const submitted = runtime.submitMany(inputs);
        window.add(submitted);
        void submitted.finally(() => window.delete(submitted));
        if (window.size >= command.inFlight) await Promise.race(window);
      }
      await Promise.all(window);
      await withTimeout(done, command.timeoutMs, `${nodeId}: ${command.n} payloads of ${command.clientId}`);
      const used = process.cpuUsage(cpu);
      return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1_000, loop: performance.eventLoopUtilization(loop).utilization };
    }
    case 'stream':
      streaming = true;
      streamLoop = stream(command.everyMs, command.size, command.ms);
      return { streaming: true };
    case 'stream-stop': {
      streaming = false;
      return (await streamLoop) ?? { submitted: 0, errors: 0 };
    }
    case 'probe': {
      const ids = await runtime.submitMany(command.shardKeys.map((shardKey) => ({ type: 'noop', clientId: 'probe', shardKey })));
      await withTimeout(Promise.all(ids.map((id) => runtime.waitFor(id))), command.timeoutMs, `${nodeId}: probes`);
      return { ids };
    }
    case 'check': {
      // Most completions were seen as events; only the rest (an event lost with a killed node) are looked up.
      const unseen = command.ids.filter((id) => !completedIds.has(id));
      const missing: string[] = [];
      await Promise.all(unseen.map((id) => withTimeout(runtime.waitFor(id), command.timeoutMs, id).catch(() => missing.push(id))));
      return { checked: command.ids.length, lookedUp: unseen.length, missing };
    }
  }
}

await runtime.ready();
out({ ready: nodeId });
process.stdin.on('end', () => process.exit(0));
serveCommands((command) => perform(command as Command));
