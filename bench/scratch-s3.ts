import { createRuntime, silentLogger } from '../src/index.ts';
const N = 100_000;
for (let r = 0; r < 4; r++) {
  const rt = createRuntime({ partitions: 16, logger: silentLogger, concurrency: 50, retainTerminal: 0 });
  rt.handle('noop', () => undefined);
  let done = 0, skipped = 0, degraded = 0; const levels: string[] = [];
  const finished = new Promise<void>((resolve) => rt.events.on('completed', () => void (++done === N && resolve())));
  rt.events.on('skipped', () => skipped++); rt.events.on('degraded', () => degraded++);
  await rt.ready();
  const t0 = performance.now();
  for (let o = 0; o < N; o += 10_000) await rt.submitMany(Array.from({ length: 10_000 }, (_, i) => ({ type: 'noop', priority: ((o + i) % 10) + 1 })));
  await finished;
  console.log(Math.round(N / ((performance.now() - t0) / 1000)), { skipped, degraded, decisions: rt.coordinator?.decisions(20).map((d) => `${d.action}:${d.level}:${(d as any).tier ?? ''}:${String(d.reason).slice(0, 60)}`) });
  await rt.stop();
}
process.exit(0);
