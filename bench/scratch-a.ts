import { createRuntime, silentLogger } from '../src/index.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const N = Number(process.env.N ?? 200_000), CHUNK = 10_000;
const prios = ['critical', 'high', 'medium', 'low'] as const;
async function triage() {
  const runtime = createRuntime({ partitions: 16, concurrency: 50, logger: silentLogger, retainTerminal: 1_000, ...(process.env.NOCOORD ? { coordinator: false } : {}) });
  let skipped = 0, degraded = 0; runtime.events.on('skipped', () => skipped++); runtime.events.on('degraded', () => degraded++); process.on('exit', () => console.log({ skipped, degraded, level: runtime.coordinator?.level?.() }));
  runtime.handle('noop', () => undefined);
  let done = 0; let resolve!: () => void; const finished = new Promise<void>((r) => (resolve = r));
  runtime.events.on('completed', () => { if (++done === N) resolve(); });
  const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
  const t0 = performance.now(); const c0 = process.cpuUsage();
  for (let o = 0; o < N; o += CHUNK) {
    const target = o + CHUNK; await runtime.submitMany(Array.from({ length: CHUNK }, (_, i) => ({ type: 'noop', priority: prios[(o + i) % 4] })));
    if (process.env.IDLE) while (done < target) await new Promise((r) => setImmediate(r));
  }
  await finished;
  const s = (performance.now() - t0) / 1000; h.disable(); const cu = process.cpuUsage(c0); const cpuUs = (cu.user + cu.system) / N;
  const turns = runtime.tree().reduce((n, a) => n + a.processed, 0);
  await runtime.stop();
  return { perSec: Math.round(N / s), maxStallMs: Math.round(h.max / 1e6), turnsPerPayload: turns / N, cpuUsPerPayload: +cpuUs.toFixed(2) };
}
async function pqueue() {
  const { default: PQueue } = await import('/tmp/pq/node_modules/p-queue/dist/index.js' as string);
  const q = new PQueue({ concurrency: 50 });
  const t0 = performance.now(); const c0 = process.cpuUsage();
  const prio = [10, 7, 5, 2];
  const all: Promise<unknown>[] = [];
  for (let o = 0; o < N; o += CHUNK) { for (let i = 0; i < CHUNK; i++) all.push(q.add(() => undefined, { priority: prio[(o + i) % 4] })); await q.onIdle(); }
  await Promise.all(all);
  const cu = process.cpuUsage(c0);
  return { perSec: Math.round(N / ((performance.now() - t0) / 1000)), cpuUsPerPayload: +((cu.user + cu.system) / N).toFixed(2) };
}
console.log('triage', await triage());
if (!process.env.NOPQ) console.log("pqueue", await pqueue());
process.exit(0);
