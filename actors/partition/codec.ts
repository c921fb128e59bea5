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

/**
 * One journal entry: the records a transition wrote, the ids it dropped, and the counters after it.
 * A record that already existed at the previous entry is journalled as a patch (only the fields that
 * changed): a status transition is then a few dozen bytes instead of the whole record. Entries
 * written before patches existed have none, and decode as they always did.
 */
export interface PartitionDelta {
  readonly seq: number;
  readonly totals: PartitionTotals;
  /** New records, whole. */
  readonly upserts: readonly PayloadRecord[];
  readonly patches?: readonly RecordPatch[];
  readonly deletes: readonly string[];
}

/** `[id, fields set]` or `[id, fields set, fields cleared]`, against the record as of the previous entry. */
export type RecordPatch = readonly [id: string, set: Partial<PayloadRecord>, unset?: readonly (keyof PayloadRecord)[]];

export function encodeSnapshot(state: PartitionState): PartitionSnapshotData {
  return { seq: state.seq, totals: state.totals, records: [...state.records.values()] };
}

/** The entry of a transition from `previous` (the state of the previous entry) to `state`. */
export function deltaOf(state: PartitionState, touched: ReadonlySet<string>, previous: PartitionState): PartitionDelta {
  const upserts: PayloadRecord[] = [];
  const patches: RecordPatch[] = [];
  const deletes: string[] = [];
  for (const id of touched) {
    const record = state.records.get(id);
    if (!record) {
      deletes.push(id);
      continue;
    }
    const before = previous.records.get(id);
    if (before) patches.push(patchOf(before, record));
    else upserts.push(record);
  }
  return patches.length > 0 ? { seq: state.seq, totals: state.totals, upserts, patches, deletes } : { seq: state.seq, totals: state.totals, upserts, deletes };
}

/** Every field a record has, in record.ts's order (a record that came through JSON may lack some keys). */
const RECORD_FIELDS = Object.keys(copyRecord({} as PayloadRecord)).filter((f) => f !== 'status') as (keyof PayloadRecord)[];

/**
 * The fields of `after` that differ from `before` (by identity: unchanged values keep theirs, see
 * record.ts). `status` is always written: recovery turns running records into queued ones without
 * an entry, so a patch must not depend on the status the journal last recorded.
 */
function patchOf(before: PayloadRecord, after: PayloadRecord): RecordPatch {
  const set: Record<string, unknown> = { status: after.status };
  let unset: (keyof PayloadRecord)[] | undefined;
  for (const field of RECORD_FIELDS) {
    const value = after[field];
    if (value === before[field]) continue;
    if (value === undefined) (unset ??= []).push(field);
    else set[field] = value;
  }
  return unset ? [after.id, set, unset] : [after.id, set];
}

/** Applies a patch to the record it was taken against. */
function applyPatch(byId: Map<string, PayloadRecord>, [id, set, unset]: RecordPatch): void {
  const before = byId.get(id);
  if (!before) throw new Error(`a partition journal entry patches ${id}, which no earlier entry or snapshot holds`);
  const after = { ...before, ...set } as Record<string, unknown>;
  if (unset) for (const field of unset) delete after[field];
  byId.set(id, after as unknown as PayloadRecord);
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
    if (delta.patches) for (const patch of delta.patches) applyPatch(byId, patch);
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
  // Ledger ids must not repeat after a restart: a repeated id would replace a waiting entry in the coordinator's ledger.
  let ledgerSeq = 0;
  for (let record of records) {
    if (record.ledgerId !== undefined) ledgerSeq = Math.max(ledgerSeq, Number(record.ledgerId.slice(record.ledgerId.indexOf('-') + 1)) + 1);
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
    ledgerSeq,
  };
  return { state, rerun };
}
