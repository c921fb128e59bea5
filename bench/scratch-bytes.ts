import { createRuntime, silentLogger } from '../src/index.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
const N = 20_000;
class Counting extends MemoryEngine { bytes = 0; entries = 0; override async persist(e: any[]) { for (const x of e) { this.bytes += JSON.stringify(x.data).length; this.entries++; } return super.persist(e); } }
for (const retainTerminal of [0, 1000]) {
  const engine = new Counting();
  const rt = createRuntime({ partitions: 16, logger: silentLogger, concurrency: 50, retainTerminal, persistence: engine, coordinator: false });
  rt.handle('noop', () => undefined);
  let done = 0; const finished = new Promise<void>((r) => rt.events.on('completed', () => void (++done === N && r())));
  for (let o = 0; o < N; o += 1000) await rt.submitMany(Array.from({ length: 1000 }, (_, i) => ({ type: 'noop', data: { n: o + i }, priority: ((o + i) % 10) + 1 })));
  await finished; await rt.idle();
  console.log({ retainTerminal, bytesPerPayload: Math.round(engine.bytes / N), entriesPerPayload: +(engine.entries / N).toFixed(3) });
  await rt.stop();
}
process.exit(0);
