import { createRuntime, silentLogger } from '../src/index.ts';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const N = 100_000, SPREAD = 5_000;
const runtime = createRuntime({ partitions: 16, concurrency: 50, logger: silentLogger, retainTerminal: 1_000 });
const late: number[] = []; let early = 0;
const byDue = new Map<number, number>();
runtime.handle('timer', (d: { due: number }) => { const l = Date.now() - d.due; const b = Math.floor((d.due - base) / 100); byDue.set(b, Math.max(byDue.get(b) ?? 0, l)); if (l < 0) early++; late.push(l); });
const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
const stalls: Array<[number, number]> = []; let last = performance.now();
const tick = setInterval(() => { const now = performance.now(); if (now - last > 8) stalls.push([Math.round(Date.now() - (base)), Math.round(now - last)]); last = now; }, 2);
const base = Date.now() + 1000; console.log('base at process ms', Math.round(performance.now()));
const items = Array.from({ length: N }, (_, i) => ({ type: 'timer', runAt: base + Math.floor((i * SPREAD) / N), data: { due: base + Math.floor((i * SPREAD) / N) } }));
for (let i = items.length - 1; i > 0; i--) { const j = (i * 7919) % (i + 1); [items[i], items[j]] = [items[j]!, items[i]!]; }
for (let i = 0; i < N; i += 10_000) await runtime.submitMany(items.slice(i, i + 10_000));
while (late.length < N) await new Promise((r) => setTimeout(r, 50));
h.disable(); console.log('max lateness per 100ms of due:', JSON.stringify([...byDue].sort((a,b)=>a[0]-b[0]).map(([k,v])=>v))); clearInterval(tick); console.log('stalls (ms rel. first due, gap ms):', JSON.stringify(stalls));
late.sort((a, b) => a - b);
console.log({ p50: late[N >> 1], p99: late[Math.floor(N * 0.99)], max: late[N - 1], early, maxStallMs: Math.round(h.max / 1e6) });
console.log(JSON.stringify(runtime.coordinator?.decisions?.(10) ?? runtime.coordinator)); await runtime.stop(); process.exit(0);
