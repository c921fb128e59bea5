/** The persistent collections as JSON-ready arrays and back, for snapshot encoders. */
import { PHeap, PMap, PQueue } from '../collections/index.ts';

export const mapToJson = <V>(map: PMap<V>): Array<[string, V]> => [...map.entries()];
export const mapFromJson = <V>(entries: ReadonlyArray<readonly [string, V]>): PMap<V> => PMap.fromEntries(entries);
export const queueToJson = <T>(queue: PQueue<T>): T[] => queue.toArray();
export const queueFromJson = <T>(items: readonly T[]): PQueue<T> => PQueue.from(items);
/** A heap's entries in pop order, so ties come back in their original FIFO order. */
export function heapToJson<T>(heap: PHeap<T>): Array<{ key: number; value: T }> {
  const out: Array<{ key: number; value: T }> = [];
  for (let h = heap, top = h.peek(); top; h = h.pop(), top = h.peek()) out.push(top);
  return out;
}
export const heapFromJson = <T>(items: ReadonlyArray<{ key: number; value: T }>): PHeap<T> => PHeap.from(items);

/** Refuses a snapshot of a version this build does not read. */
export function checkVersion(actor: string, version: number, supported: number): void {
  if (version !== supported) {
    throw Object.assign(new Error(`${actor} snapshot version ${version} is not supported (this build reads ${supported})`), { code: 'SNAPSHOT_VERSION' });
  }
}
