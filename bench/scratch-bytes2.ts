import { createRuntime, silentLogger } from '../src/index.ts';
import { MemoryEngine } from '../src/persistence/memory.ts';
const engine = new MemoryEngine();
const rt = createRuntime({ partitions: 1, logger: silentLogger, persistence: engine, coordinator: false });
rt.handle('noop', () => 'ok');
const id = await rt.submit({ type: 'noop', data: { n: 1 } }); await rt.waitFor(id); await rt.idle();
for (const e of await engine.events('partition-0', 0)) console.log(JSON.stringify(e.data));
await rt.stop(); process.exit(0);
