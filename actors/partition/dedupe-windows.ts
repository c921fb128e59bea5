/**
 * The dedupe windows a partition keeps by key (see dedupe.ts): opened at acceptance or rebuilt from
 * the records at recovery, closed when a debounced record stops waiting.
 */
import type { PartitionState, PayloadRecord } from './state.ts';

/** A key's window: a throttle's first payload until `until`; a debounce's held payload while it is delayed (`until` undefined). */
export interface DedupeWindow {
  readonly id: string;
  readonly until: number | undefined;
}

/** Registers the window a record opens (at acceptance, and when recovery rebuilds the index). */
export function openWindow(state: PartitionState, record: PayloadRecord): void {
  const dedupe = record.dedupe;
  if (dedupe === undefined) return;
  if (dedupe.mode === 'debounce') {
    if (record.status === 'delayed') state.dedupe.set(dedupe.key, { id: record.id, until: undefined });
    return;
  }
  const until = record.submittedAt + dedupe.ttlMs;
  const current = state.dedupe.get(dedupe.key);
  if (current?.until !== undefined && current.until >= until) return; // a later window of the key is known already
  state.dedupe.set(dedupe.key, { id: record.id, until });
  state.dedupeExpiry.insert(until, dedupe.key);
}

/** A debounced record left `delayed` (due, cancelled, rolled back): its key is free again. */
export function closeWindow(state: PartitionState, record: PayloadRecord): void {
  const key = record.dedupe?.key;
  if (key !== undefined && state.dedupe.get(key)?.id === record.id && state.dedupe.get(key)?.until === undefined) state.dedupe.delete(key);
}
