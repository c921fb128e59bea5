/**
 * What a partition journals and snapshots, and how it is rebuilt. The records are the source of
 * truth; queues, timers, retention order and the idempotency index are derived from them on
 * recovery, so the journal carries only record writes and drops (plus two counters).
 */
import { PHeap, PMap, PQueue } from '../../src/collections/index.ts';
import { TIERS, type Tier } from '../../src/payload.ts';
import { copyRecord } from './record.ts';
import { initialPartitionState, isTerminal, type PartitionState, type PartitionTotals, type PayloadRecord } from './state.ts';

/** Bump when the snapshot shape changes; `decodeSnapshot` refuses versions it does not know. */
export const PARTITION_SNAPSHOT_VERSION = 1;

export interface PartitionSnapshotData {
  readonly seq: number;
  readonly totals: PartitionTotals;
  readonly records: readonly PayloadRecord[];
}

/** One journal entry: the records a transition wrote, the ids it dropped, and the counters after it. */
export interface PartitionDelta {
  readonly seq: number;
  readonly totals: PartitionTotals;
  readonly upserts: readonly PayloadRecord[];
  readonly deletes: readonly string[];
}

export function encodeSnapshot(state: PartitionState): PartitionSnapshotData {
  return { seq: state.seq, totals: state.totals, records: [...state.records.values()] };
}

export function deltaOf(state: PartitionState, touched: ReadonlySet<string>): PartitionDelta {
  const upserts: PayloadRecord[] = [];
  const deletes: string[] = [];
  for (const id of touched) {
    const record = state.records.get(id);
    if (record) upserts.push(record);
    else deletes.push(id);
  }
  return { seq: state.seq, totals: state.totals, upserts, deletes };
}

export class SnapshotVersionError extends Error {
  readonly code = 'SNAPSHOT_VERSION';
  constructor(version: number) {
    super(`partition snapshot version ${version} is not supported (this build reads ${PARTITION_SNAPSHOT_VERSION})`);
  }
}

export interface Recovered {
  readonly state: PartitionState;
  /** Payloads that were running when the process stopped: queued again to run once more. */
  readonly rerun: readonly string[];
}

/** Rebuilds a partition from its latest snapshot and the journal entries after it. */
export function restorePartition(
  index: number,
  snapshot: { version: number; data: PartitionSnapshotData } | undefined,
  deltas: readonly PartitionDelta[],
): Recovered {
  if (snapshot && snapshot.version !== PARTITION_SNAPSHOT_VERSION) throw new SnapshotVersionError(snapshot.version);
  const byId = new Map<string, PayloadRecord>();
  let seq = snapshot?.data.seq ?? 0;
  let totals = snapshot?.data.totals ?? initialPartitionState(index).totals;
  for (const record of snapshot?.data.records ?? []) byId.set(record.id, record);
  for (const delta of deltas) {
    for (const record of delta.upserts) byId.set(record.id, record);
    for (const id of delta.deletes) byId.delete(id);
    seq = delta.seq;
    totals = delta.totals;
  }
  return rebuild(index, seq, totals, [...byId.values()].map(copyRecord));
}

function rebuild(index: number, seq: number, totals: PartitionTotals, records: PayloadRecord[]): Recovered {
  const base = initialPartitionState(index);
  const rerun: string[] = [];
  const waiting: PayloadRecord[] = [];
  const terminal: PayloadRecord[] = [];
  let map = PMap.empty<PayloadRecord>();
  let timers = PHeap.empty<string>();
  let idempotency = PMap.empty<string>();
  let delayed = 0;
  let retrying = 0;
  for (let record of records) {
    if (record.status === 'running') {
      // At-least-once: a payload that was running is queued again, keeping its tier and attempts.
      const again = copyRecord(record);
      again.status = 'queued';
      record = again;
      rerun.push(record.id);
    }
    map = map.set(record.id, record);
    if (record.idempotencyKey !== undefined) idempotency = idempotency.set(record.idempotencyKey, record.id);
    if (record.status === 'queued') waiting.push(record);
    else if (record.status === 'delayed') {
      timers = timers.insert(record.runAt ?? 0, record.id);
      delayed++;
      if (record.attempt > 0) retrying++;
    } else if (isTerminal(record.status) || record.status === 'moved') terminal.push(record); // a moved stub is retained like an ended record
  }
  // FIFO within a tier is the order payloads entered it.
  waiting.sort((a, b) => a.enqueuedAt - b.enqueuedAt || a.seq - b.seq);
  const queues = Object.fromEntries(TIERS.map((t) => [t, {} as Record<string, PQueue<string>>])) as Record<Tier, Record<string, PQueue<string>>>;
  const queued = Object.fromEntries(TIERS.map((t) => [t, {} as Record<string, number>])) as Record<Tier, Record<string, number>>;
  const depth = { ...base.depth };
  for (const record of waiting) {
    const { tier, type } = record;
    queues[tier][type] = (queues[tier][type] ?? PQueue.empty<string>()).push(record.id);
    queued[tier][type] = (queued[tier][type] ?? 0) + 1;
    depth[tier]++;
  }
  terminal.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  const state: PartitionState = {
    ...base,
    seq,
    totals,
    records: map,
    queues,
    queued,
    depth,
    timers,
    delayed,
    retrying,
    running: 0,
    retained: PQueue.from(terminal.map((r) => r.id)),
    idempotency,
  };
  return { state, rerun };
}
