import { createRuntime, silentLogger } from '../src/index.ts';
import { ActorSystem } from '../src/core/actor-system.ts';
const counts = new Map<string, number>(); const sizes = new Map<string, number>();
const orig = ActorSystem.prototype.spawn;
ActorSystem.prototype.spawn = function (this: ActorSystem, name: string, kind: string, init: unknown, b: any) {
  const ref = orig.call(this, name, kind, init, b) as any; const d = ref.dispatch.bind(ref);
  ref.dispatch = (m: any) => { counts.set(m.type, (counts.get(m.type) ?? 0) + 1); const n = m.grants?.reduce((a: number, g: any) => a + g.count, 0) ?? m.outcomes?.length ?? 0; sizes.set(m.type, (sizes.get(m.type) ?? 0) + n); d(m); };
  return ref;
} as any;
const N = 100_000, CHUNK = 10_000; const prios = ['critical', 'high', 'medium', 'low'] as const;
const runtime = createRuntime({ partitions: 16, concurrency: 50, logger: silentLogger, retainTerminal: 1_000, coordinator: false });
runtime.handle('noop', () => undefined);
let done = 0; runtime.events.on('completed', () => done++);
for (let o = 0; o < N; o += CHUNK) { await runtime.submitMany(Array.from({ length: CHUNK }, (_, i) => ({ type: 'noop', priority: prios[(o + i) % 4] }))); while (done < o + CHUNK) await new Promise((r) => setImmediate(r)); }
for (const [k, v] of counts) console.log(k, v, 'avg', ((sizes.get(k) ?? 0) / v).toFixed(1));
await runtime.stop(); process.exit(0);
