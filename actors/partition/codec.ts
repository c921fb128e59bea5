/**
 * What a partition journals and snapshots (replay.ts rebuilds it). The records are the source of
 * truth; queues, timers, retention order, the idempotency index and the dedupe windows are derived from them on
 * recovery, so the journal carries only record writes and drops (plus two counters).
 */
import { flatRecord, isPlain } from './record.ts';
import type { PartitionState, PartitionTotals, PayloadRecord } from './state.ts';

/** Bump when the snapshot shape changes; `restorePartition` (replay.ts) refuses versions it does not know. */
export const PARTITION_SNAPSHOT_VERSION = 1;

export interface PartitionSnapshotData {
  readonly seq: number;
  readonly totals: PartitionTotals;
  readonly records: readonly PayloadRecord[];
}

/**
 * One journal entry: the records a transition created (whole), the lifecycle of the records it
 * changed, the ids it dropped, and the counters after it. Entries of earlier builds carry `patches`
 * instead of `lifecycle`, and decode as they always did.
 */
export interface PartitionDelta {
  readonly seq: number;
  /** The counters after the transition, in `TOTALS_ORDER` (entries of earlier builds: the object). */
  readonly totals: PartitionTotals | readonly number[];
  /** New records, whole. */
  readonly upserts: readonly PayloadRecord[];
  /** New records with no submit options and nothing gained yet, as `PlainRecord`s (entries of earlier builds; now those `fresh` does not take). */
  readonly plain?: readonly PlainRecord[];
  /**
   * New records with no submit options, one flat array per type, client, status and tier: those
   * four once, then `FRESH_STRIDE` values per record (`addFresh`). Now those `accepted` does not take.
   */
  readonly fresh?: readonly (readonly unknown[])[];
  /**
   * New records with no submit options (one per acceptance: the bulk of an entry), one flat array
   * per group of what the submits of one call share — type, client, status, tier, priority,
   * complexity, submittedAt, attempt, enqueuedAt, once — then id, seq and data per record
   * (`addAccepted`). The two times are doubles, the dearest values to write as JSON: ~3.5× less
   * JSON work per acceptance than `fresh`, which wrote them per record.
   */
  readonly accepted?: readonly (readonly unknown[])[];
  readonly lifecycle?: readonly LifecyclePatch[];
  readonly patches?: readonly RecordPatch[];
  /**
   * Dropped records: the ids of those the transition wrote otherwise, the seqs of those that left
   * retention. Below, a record is named by its seq (a number: unique in the partition, and a few
   * bytes of JSON against ~15 for an id); entries of earlier builds name them by id.
   */
  readonly deletes: readonly (string | number)[];
  /**
   * Claims (claims.ts): `[seq, attempt, seq, attempt, …]`, each a queued record recorded as running
   * with that attempt, so recovery reruns it. Applied after the upserts and lifecycle patches.
   */
  readonly claims?: readonly (string | number)[];
  /** Plain starts: `[startedAt, seq, attempt, seq, attempt, …]` (running, not degraded). */
  readonly started?: readonly (string | number)[];
  /** Starts in a degraded tier, as `started` (running, degraded). Entries of earlier builds carry them as lifecycle patches. */
  readonly degraded?: readonly (string | number)[];
  /** Completions: `[finishedAt, item, …]`, an item the seq (no result) or `[seq, result]`. */
  readonly completed?: readonly unknown[];
}

/**
 * A new record without options, positionally: ~95 bytes of JSON against ~210 with field names.
 * `data` is last and left out when undefined, so undefined and null stay apart.
 */
export type PlainRecord = readonly [
  id: string, type: string, clientId: string, priority: number, complexity: number, submittedAt: number,
  status: PayloadRecord['status'], tier: PayloadRecord['tier'], attempt: number, seq: number, enqueuedAt: number, data?: unknown,
];

function plainOf(r: PayloadRecord): PlainRecord {
  const head = [r.id, r.type, r.clientId, r.priority, r.complexity, r.submittedAt, r.status, r.tier, r.attempt, r.seq, r.enqueuedAt] as const;
  return r.data === undefined ? head : [...head, r.data];
}

/** Values per record in `fresh`: id, priority, complexity, submittedAt, attempt, seq, enqueuedAt, data (0 when undefined, else `[data]`). */
export const FRESH_STRIDE = 8;
export const FRESH_HEAD = 4;

/** Past this many groups of a form in one entry, further new records go to the next form (`accepted`, `fresh`, `plain`): a scan per record stays short. */
const FRESH_GROUPS = 8;

/** Appends the record to the entry's `fresh` group of its type, client, status and tier; false when there is no room for a new group. */
function addFresh(fresh: unknown[][], r: PayloadRecord): boolean {
  let group: unknown[] | undefined;
  for (let g = fresh.length - 1; g >= 0; g--) {
    const candidate = fresh[g] as unknown[];
    if (candidate[3] === r.tier && candidate[0] === r.type && candidate[1] === r.clientId && candidate[2] === r.status) {
      group = candidate;
      break;
    }
  }
  if (!group) {
    if (fresh.length >= FRESH_GROUPS) return false;
    fresh.push((group = [r.type, r.clientId, r.status, r.tier]));
  }
  group.push(r.id, r.priority, r.complexity, r.submittedAt, r.attempt, r.seq, r.enqueuedAt, r.data === undefined ? 0 : [r.data]);
  return true;
}

/** Values per record in `accepted` (id, seq, data as in `fresh`), after `ACCEPTED_HEAD` shared ones. */
export const ACCEPTED_STRIDE = 3;
export const ACCEPTED_HEAD = 9;

/** Appends the record to the entry's `accepted` group of what it shares with others; false when there is no room for a new group. */
function addAccepted(groups: unknown[][], r: PayloadRecord): boolean {
  let group: unknown[] | undefined;
  for (let g = groups.length - 1; g >= 0; g--) {
    const c = groups[g] as unknown[];
    if (c[6] === r.submittedAt && c[8] === r.enqueuedAt && c[3] === r.tier && c[4] === r.priority && c[0] === r.type
      && c[1] === r.clientId && c[2] === r.status && c[5] === r.complexity && c[7] === r.attempt) {
      group = c;
      break;
    }
  }
  if (!group) {
    if (groups.length >= FRESH_GROUPS) return false;
    groups.push((group = [r.type, r.clientId, r.status, r.tier, r.priority, r.complexity, r.submittedAt, r.attempt, r.enqueuedAt]));
  }
  group.push(r.id, r.seq, r.data === undefined ? 0 : [r.data]);
  return true;
}

/** What one transition changed, as the reducer reports it (reducer.ts's `Transition`). */
export interface Changes {
  readonly added: readonly PayloadRecord[];
  readonly firstSeq: number;
  readonly touched: ReadonlySet<string>;
  readonly created: ReadonlySet<string>;
  readonly claimed: readonly string[];
  readonly started: readonly string[];
  readonly completed: readonly string[];
  /** Seqs of the dropped records not in `touched` (ended records leaving retention). */
  readonly evicted: readonly number[];
}

/**
 * A record's lifecycle fields as they are after the transition, positionally: bit `i` of `unset`
 * marks `LIFECYCLE_FIELDS[i]` as undefined, and `values` holds the others in order. A start is
 * ~90 bytes of JSON this way, against ~230 as named fields with a list of the cleared ones.
 */
export type LifecyclePatch = readonly [id: string, unset: number, ...values: unknown[]];

/** The older form: `[id, fields set]` or `[id, fields set, fields cleared]`, against the record as of the previous entry. */
export type RecordPatch = readonly [id: string, set: Partial<PayloadRecord>, unset?: readonly (keyof PayloadRecord)[]];

export function encodeSnapshot(state: PartitionState): PartitionSnapshotData {
  const records: PayloadRecord[] = new Array(state.records.size);
  const claimed = state.claims.ids;
  let i = 0;
  for (const record of state.records.values()) {
    // A claimed payload is running as far as recovery is concerned, as its journal entry said.
    records[i++] = claimed.size > 0 && claimed.has(record.id) ? { ...flatRecord(record), status: 'running', attempt: record.attempt + 1 } : flatRecord(record);
  }
  return { seq: state.seq, totals: { ...state.totals }, records };
}

/** The order of the counters in an entry's `totals`: a row of numbers, without a key each. */
export const TOTALS_ORDER = ['accepted', 'started', 'completed', 'failed', 'retried', 'cancelled', 'skipped'] as const satisfies readonly (keyof PartitionTotals)[];

/**
 * The fields a record's life changes (record.ts's order); the others are fixed at submit. A record
 * that existed before the transition is journalled as these fields only: a status change is then a
 * few dozen bytes instead of the whole record with its data.
 */
export const LIFECYCLE_FIELDS = ['priority', 'runAt', 'status', 'tier', 'attempt', 'seq', 'enqueuedAt', 'startedAt', 'finishedAt', 'result', 'error', 'progress', 'degraded', 'checkpoint', 'ledgerId', 'movedTo'] as const satisfies readonly (keyof PayloadRecord)[];

/**
 * The entry of one transition, built at the end of its turn: `created` records whole, the other
 * `touched` ones as their lifecycle fields, and the ids that are gone.
 */
export function deltaOf(state: PartitionState, changes: Changes): PartitionDelta {
  const { touched, created, claimed } = changes;
  const upserts: PayloadRecord[] = [];
  const plain: PlainRecord[] = [];
  const accepted: unknown[][] = [];
  const fresh: unknown[][] = [];
  const lifecycle: LifecyclePatch[] = [];
  // By seq: a record made anew under the same id in this transition is not the one dropped.
  const deletes: (string | number)[] = changes.evicted.length > 0 ? changes.evicted.slice() : [];
  const whole = (record: PayloadRecord): void => {
    if (!isPlain(record)) upserts.push(flatRecord(record));
    else if (!addAccepted(accepted, record) && !addFresh(fresh, record)) plain.push(plainOf(record));
  };
  // Unless dropped or replaced again in the same transition (then `touched` has its id).
  for (const record of changes.added) if (state.records.get(record.id) === record) whole(record);
  for (const id of touched) {
    const record = state.records.get(id);
    if (!record) deletes.push(id);
    else if (record.seq >= changes.firstSeq) continue; // created by this transition: written whole above
    else if (created.has(id)) whole(record);
    else lifecycle.push(lifecycleOf(record));
  }
  const delta: { -readonly [K in keyof PartitionDelta]: PartitionDelta[K] } = { seq: state.seq, totals: TOTALS_ORDER.map((name) => state.totals[name]), upserts, deletes };
  if (accepted.length > 0) delta.accepted = accepted;
  if (fresh.length > 0) delta.fresh = fresh;
  if (plain.length > 0) delta.plain = plain;
  if (lifecycle.length > 0) delta.lifecycle = lifecycle;
  // A record touched otherwise in this transition is journalled whole or as its lifecycle, above.
  let started: (string | number)[] | undefined;
  let degraded: (string | number)[] | undefined;
  for (const id of changes.started) {
    const record = touched.has(id) ? undefined : state.records.get(id);
    if (!record) continue;
    if (record.degraded === true) (degraded ??= [record.startedAt as number]).push(record.seq, record.attempt);
    else (started ??= [record.startedAt as number]).push(record.seq, record.attempt);
  }
  if (started) delta.started = started;
  if (degraded) delta.degraded = degraded;
  let completed: unknown[] | undefined;
  for (const id of changes.completed) {
    const record = touched.has(id) ? undefined : state.records.get(id);
    if (record) (completed ??= [record.finishedAt as number]).push(record.result === undefined ? record.seq : [record.seq, record.result]);
  }
  if (completed) delta.completed = completed;
  if (claimed.length > 0) {
    const claims: number[] = [];
    for (const id of claimed) {
      const record = state.records.get(id);
      if (record) claims.push(record.seq, record.attempt + 1);
    }
    delta.claims = claims;
  }
  return delta;
}

function lifecycleOf(record: PayloadRecord): LifecyclePatch {
  const patch: unknown[] = [record.id, 0];
  let unset = 0;
  for (let i = 0; i < LIFECYCLE_FIELDS.length; i++) {
    const value = record[LIFECYCLE_FIELDS[i] as (typeof LIFECYCLE_FIELDS)[number]];
    if (value === undefined) unset |= 1 << i;
    else patch.push(value);
  }
  patch[1] = unset;
  return patch as unknown as LifecyclePatch;
}
