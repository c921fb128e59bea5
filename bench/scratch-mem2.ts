const gc = (globalThis as any).gc; const N = 1_000_000;
const m = () => { gc(); gc(); return process.memoryUsage().heapUsed; };
const prefix = 'AbCdEfGh';
for (const mode of ['cons', 'join', 'replace', 'short']) {
  let b = m();
  const ids: string[] = new Array(N);
  for (let i = 0; i < N; i++) {
    const s = mode === 'short' ? `${prefix.slice(0,5)}${i.toString(36)}.${(i % 16).toString(36)}` : `${prefix}${i.toString(36)}.${(i % 16).toString(36)}`;
    ids[i] = mode === 'join' ? [prefix, i.toString(36), '.', (i % 16).toString(36)].join('') : mode === 'replace' ? s.replace('', '') : s;
  }
  const maps = Array.from({ length: 16 }, () => new Map<string, unknown>());
  for (let i = 0; i < N; i++) maps[i % 16]!.set(ids[i]!, null);
  const a = m(); console.log(mode, ids[5]!.length, ((a - b) / N).toFixed(1));
  ids.length = 0; maps.length = 0;
}
