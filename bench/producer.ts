/**
 * The benches' producer: `submitMany` in chunks with at most `inFlight` chunks unacknowledged, as a
 * real producer would (the BullMQ column awaits each `addBulk`). Validating 100,000 payloads in one
 * synchronous pass would block the event loop for half a second, which the coordinator rightly reads
 * as critical load.
 */
import type { PayloadInput, Runtime } from '../src/index.ts';

export async function produce(runtime: Runtime, opts: { payloads: number; chunk: number; inFlight: number }, build: (n: number) => PayloadInput): Promise<void> {
  const window = new Set<Promise<unknown>>();
  for (let offset = 0; offset < opts.payloads; offset += opts.chunk) {
    const size = Math.min(opts.chunk, opts.payloads - offset);
    const submitted = runtime.submitMany(Array.from({ length: size }, (_, i) => build(offset + i)));
    window.add(submitted);
    void submitted.finally(() => window.delete(submitted));
    if (window.size >= opts.inFlight) await Promise.race(window);
  }
  await Promise.all(window);
}
