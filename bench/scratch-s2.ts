import { storeThroughput } from './durability.ts';
const r = await storeThroughput({ kind: 'redis', url: 'redis://127.0.0.1:6391' }, { payloads: 100_000, chunk: 10_000, concurrency: 50, inFlight: 1 });
console.log('redis', Math.round(r));
process.exit(0);
