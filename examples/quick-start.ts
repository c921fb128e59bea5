// Quick start: register a handler, submit a payload, wait for its result.
import { createRuntime } from '../src/index.ts';

export async function quickStart(): Promise<number> {
  const runtime = createRuntime();
  runtime.handle('add', (data: { a: number; b: number }) => data.a + data.b);

  const id = await runtime.submit({ type: 'add', data: { a: 2, b: 3 }, priority: 'high', clientId: 'docs' });
  const sum = await runtime.waitFor<number>(id);

  await runtime.stop({ drain: true });
  return sum;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(`2 + 3 = ${await quickStart()}`);
