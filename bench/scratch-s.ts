import { storeThroughput } from './durability.ts';
const N = Number(process.env.N ?? 100_000);
for (const kind of ['memory', 'redis'] as const) {
  const r = await storeThroughput(kind === 'memory' ? { kind } : { kind, url: 'redis://127.0.0.1:6391' }, { payloads: N, chunk: 10_000, concurrency: 50, inFlight: 1 });
  console.log(kind, Math.round(r));
}
process.exit(0);
