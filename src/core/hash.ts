/** FNV-1a over UTF-16 code units: fast, stable across processes, well spread for short keys. */
export function hashString(key: string): number {
  return fnvStep(FNV_OFFSET, key) >>> 0;
}

export const FNV_OFFSET = 0x811c9dc5;

/** FNV-1a of `key` continued from state `h` (signed 32-bit; `>>> 0` for the hash). */
export function fnvStep(h: number, key: string): number {
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h;
}

export function partitionOf(shardKey: string, partitions: number): number {
  return hashString(shardKey) % partitions;
}
