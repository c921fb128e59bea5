/**
 * The demo's workflow (`triage start --demo` runs one per wave, so the admin page's Workflows panel
 * has something to show): publish an album — a thumbnail per image in parallel (fan-out, on the main
 * job's flaky thumbnail handler, so a retry shows now and then), then invoice it at checkout.
 */
import { v, workflow } from '../src/dsl/index.ts';

/** The main job's handlers this workflow uses (registered by registerMainJob). */
export type AlbumHandlers = {
  readonly thumbnail: (image: { pixels: number }) => Promise<number>;
  readonly checkout: (order: { total: number }) => Promise<{ charged: number }>;
};

export const AlbumInput = v.strictObject({
  album: v.pipe(v.string(), v.nonEmpty()),
  images: v.array(v.pipe(v.number(), v.integer(), v.minValue(0))),
});

export const albumWorkflow = workflow<v.InferOutput<typeof AlbumInput>, AlbumHandlers>('publish-album', {
  description: 'a thumbnail per image in parallel, then the invoice',
  input: AlbumInput,
  sample: { album: 'holiday', images: [1_000, 2_000, 3_000] },
})
  .each('thumbnails', { handler: 'thumbnail', priority: 'medium', over: ({ input }) => input.images, input: ({ item }) => ({ pixels: item }) })
  .step('invoice', { handler: 'checkout', priority: 'high', after: ['thumbnails'], input: ({ results }) => ({ total: results.thumbnails.length * 2 }) })
  .output(({ input, results }) => ({ album: input.album, thumbnails: results.thumbnails.length, charged: results.invoice.charged }));

/** The album of one demo wave: a handful of images of varying size. */
export const albumOfWave = (wave: number) => ({ album: `album-${wave}`, images: Array.from({ length: 4 + (wave % 5) }, (_, i) => ((wave + i) % 5) * 1_000) });
