/** The persistent collections as JSON-ready arrays and back, for snapshot encoders. */
import { PMap, PQueue } from '../collections/index.ts';

export const mapToJson = <V>(map: PMap<V>): Array<[string, V]> => [...map.entries()];
export const mapFromJson = <V>(entries: ReadonlyArray<readonly [string, V]>): PMap<V> => PMap.fromEntries(entries);
export const queueToJson = <T>(queue: PQueue<T>): T[] => queue.toArray();
export const queueFromJson = <T>(items: readonly T[]): PQueue<T> => PQueue.from(items);

/** Refuses a snapshot of a version this build does not read. */
export function checkVersion(actor: string, version: number, supported: number): void {
  if (version !== supported) {
    throw Object.assign(new Error(`${actor} snapshot version ${version} is not supported (this build reads ${supported})`), { code: 'SNAPSHOT_VERSION' });
  }
}
