/**
 * Client pauses inside a partition. The pool decides by tier × handler type and never sees a
 * client, so a paused client's payloads are kept out of the FIFOs the pool is offered: they stay
 * `queued` (counted in the tier's depth, journalled as before) in a side list, and go back to the
 * tail of their FIFO when the client is resumed, keeping their `enqueuedAt` (their wait counts on).
 * Not journalled: a pause is the process's, like a type pause (src/runtime/pauses.ts).
 */
import type { Tier } from '../../src/payload.ts';
import type { PartitionState, PayloadRecord } from './state.ts';

/** A client paused whole, or only its payloads of one handler type. */
export interface ClientHold {
  readonly clientId: string;
  readonly type?: string;
}

export interface HeldPayloads {
  /** Paused clients: every type (`'*'`), or the types named. Replaced whole by a `hold` message. */
  clients: ReadonlyMap<string, '*' | ReadonlySet<string>>;
  /** Held records by id, in the order they were held. */
  readonly records: Map<string, PayloadRecord>;
  /** Held per tier and handler type (the paused-queues gauge). */
  readonly counts: Record<Tier, Record<string, number>>;
}

export function noHolds(): HeldPayloads {
  return { clients: new Map(), records: new Map(), counts: { critical: {}, high: {}, medium: {}, low: {} } };
}

export function holdsOf(list: readonly ClientHold[]): Map<string, '*' | Set<string>> {
  const clients = new Map<string, '*' | Set<string>>();
  for (const { clientId, type } of list) {
    const current = clients.get(clientId);
    if (type === undefined) clients.set(clientId, '*');
    else if (current === undefined) clients.set(clientId, new Set([type]));
    else if (current !== '*') current.add(type);
  }
  return clients;
}

export function isHeld(holds: HeldPayloads, record: PayloadRecord): boolean {
  const held = holds.clients.get(record.clientId);
  return held !== undefined && (held === '*' || held.has(record.type));
}

/** Keeps a queued record aside (counted in its tier's depth, not in the FIFO counts the pool reads). */
export function keep(state: PartitionState, record: PayloadRecord): void {
  const { holds } = state;
  holds.records.set(record.id, record);
  const counts = holds.counts[record.tier];
  counts[record.type] = (counts[record.type] ?? 0) + 1;
  state.depth[record.tier]++;
}

/** Takes a held record out of the side list; false when it was not held. */
export function unkeep(state: PartitionState, record: PayloadRecord): boolean {
  const { holds } = state;
  if (holds.records.size === 0 || !holds.records.delete(record.id)) return false;
  const counts = holds.counts[record.tier];
  counts[record.type] = (counts[record.type] ?? 1) - 1;
  state.depth[record.tier]--;
  return true;
}
