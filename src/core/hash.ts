/** FNV-1a over UTF-16 code units: fast, stable across processes, well spread for short keys. */
export function hashString(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function partitionOf(shardKey: string, partitions: number): number {
  return hashString(shardKey) % partitions;
}
