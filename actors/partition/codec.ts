/**
 * What a partition journals and snapshots, and how it is rebuilt. The records are the source of
 * truth; queues, timers, retention order, the idempotency index and the dedupe windows are derived from them on
 * recovery, so the journal carries only record writes and drops (plus two counters).
 */
import Denque from 'denque';
import { openWindow } from './dedupe-windows.ts';
import { TypeQueue } from './mailbox.ts';
import { flatRecord, isPlain, ownRecord, type MutableRecord } from './record.ts';
import { emptyTotals, initialPartitionState, isTerminal, type PartitionState, type PartitionTotals, type PayloadRecord } from './state.ts';

/** Bump when the snapshot shape changes; `decodeSnapshot` refuses versions it does not know. */
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
  readonly totals: PartitionTotals;
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
  readonly deletes: readonly string[];
  /**
   * Claims (claims.ts): `[id, attempt, id, attempt, …]`, each a queued record recorded as running
   * with that attempt, so recovery reruns it. Applied after the upserts and lifecycle patches.
   */
  readonly claims?: readonly (string | number)[];
  /** Plain starts: `[startedAt, id, attempt, id, attempt, …]` (running, not degraded). */
  readonly started?: readonly (string | number)[];
  /** Starts in a degraded tier, as `started` (running, degraded). Entries of earlier builds carry them as lifecycle patches. */
  readonly degraded?: readonly (string | number)[];
  /** Completions: `[finishedAt, item, …]`, an item the id (no result) or `[id, result]`. */
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
const FRESH_STRIDE = 8;
const FRESH_HEAD = 4;

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
const ACCEPTED_STRIDE = 3;
const ACCEPTED_HEAD = 9;

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

function applyAccepted(byId: Map<string, PayloadRecord>, group: readonly unknown[]): void {
  const [type, clientId, status, tier, priority, complexity, submittedAt, attempt, enqueuedAt] = group as [
    string, string, PayloadRecord['status'], PayloadRecord['tier'], number, number, number, number, number,
  ];
  for (let i = ACCEPTED_HEAD; i < group.length; i += ACCEPTED_STRIDE) {
    const id = group[i] as string;
    const data = group[i + 2] as 0 | [unknown];
    const record = { id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq: group[i + 1] as number, enqueuedAt };
    byId.set(id, (data === 0 ? record : { ...record, data: data[0] }) as PayloadRecord);
  }
}

function applyFresh(byId: Map<string, PayloadRecord>, fresh: readonly unknown[]): void {
  const [type, clientId, status, tier] = fresh as [string, string, PayloadRecord['status'], PayloadRecord['tier']];
  for (let i = FRESH_HEAD; i < fresh.length; i += FRESH_STRIDE) {
    const id = fresh[i] as string;
    const data = fresh[i + 7] as 0 | [unknown];
    const record = {
      id, type, clientId, priority: fresh[i + 1] as number, complexity: fresh[i + 2] as number, submittedAt: fresh[i + 3] as number,
      status, tier, attempt: fresh[i + 4] as number, seq: fresh[i + 5] as number, enqueuedAt: fresh[i + 6] as number,
    };
    byId.set(id, (data === 0 ? record : { ...record, data: data[0] }) as PayloadRecord);
  }
}

function fromPlain(p: PlainRecord): PayloadRecord {
  const [id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq, enqueuedAt] = p;
  const record = { id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq, enqueuedAt };
  return (p.length > 11 ? { ...record, data: p[11] } : record) as PayloadRecord;
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
  /** Dropped ids not in `touched` (ended records leaving retention). */
  readonly evicted: readonly string[];
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

/**
 * The fields a record's life changes (record.ts's order); the others are fixed at submit. A record
 * that existed before the transition is journalled as these fields only: a status change is then a
 * few dozen bytes instead of the whole record with its data.
 */
const LIFECYCLE_FIELDS = ['priority', 'runAt', 'status', 'tier', 'attempt', 'seq', 'enqueuedAt', 'startedAt', 'finishedAt', 'result', 'error', 'progress', 'degraded', 'checkpoint', 'ledgerId', 'movedTo'] as const satisfies readonly (keyof PayloadRecord)[];

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
  const deletes: string[] = [];
  // Unless the same transition made the record anew (deletes are applied last).
  for (const id of changes.evicted) if (!state.records.has(id)) deletes.push(id);
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
  const delta: { -readonly [K in keyof PartitionDelta]: PartitionDelta[K] } = { seq: state.seq, totals: { ...state.totals }, upserts, deletes };
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
    if (record.degraded === true) (degraded ??= [record.startedAt as number]).push(id, record.attempt);
    else (started ??= [record.startedAt as number]).push(id, record.attempt);
  }
  if (started) delta.started = started;
  if (degraded) delta.degraded = degraded;
  let completed: unknown[] | undefined;
  for (const id of changes.completed) {
    const record = touched.has(id) ? undefined : state.records.get(id);
    if (record) (completed ??= [record.finishedAt as number]).push(record.result === undefined ? id : [id, record.result]);
  }
  if (completed) delta.completed = completed;
  if (claimed.length > 0) {
    const claims: (string | number)[] = [];
    for (const id of claimed) claims.push(id, (state.records.get(id)?.attempt ?? 0) + 1);
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

function applyLifecycle(byId: Map<string, PayloadRecord>, patch: LifecyclePatch): void {
  const [id, unset] = patch;
  const before = byId.get(id);
  if (!before) throw new Error(`a partition journal entry changes ${id}, which no earlier entry or snapshot holds`);
  // A copy: the entry and snapshot objects an engine hands back may be read again by a later recovery.
  const after: Record<string, unknown> = { ...before };
  let next = 2;
  for (let i = 0; i < LIFECYCLE_FIELDS.length; i++) {
    after[LIFECYCLE_FIELDS[i] as string] = (unset & (1 << i)) !== 0 ? undefined : patch[next++];
  }
  byId.set(id, after as unknown as PayloadRecord);
}

function applyStarts(byId: Map<string, PayloadRecord>, started: readonly (string | number)[], degraded: true | undefined): void {
  const startedAt = started[0] as number;
  for (let i = 1; i < started.length; i += 2) {
    const id = started[i] as string;
    const before = byId.get(id);
    if (!before) throw new Error(`a partition journal entry starts ${id}, which no earlier entry or snapshot holds`);
    byId.set(id, { ...before, status: 'running', attempt: started[i + 1] as number, startedAt, degraded });
  }
}

function applyCompletions(byId: Map<string, PayloadRecord>, completed: readonly unknown[]): void {
  const finishedAt = completed[0] as number;
  for (let i = 1; i < completed.length; i++) {
    const item = completed[i] as string | [string, unknown];
    const [id, result] = typeof item === 'string' ? [item, undefined] : item;
    const before = byId.get(id);
    if (!before) throw new Error(`a partition journal entry completes ${id}, which no earlier entry or snapshot holds`);
    byId.set(id, { ...before, status: 'completed', finishedAt, result });
  }
}

/** Claimed records count as running (with the attempt they would start) until a later entry says otherwise. */
function applyClaims(byId: Map<string, PayloadRecord>, claims: readonly (string | number)[]): void {
  for (let i = 0; i < claims.length; i += 2) {
    const id = claims[i] as string;
    const before = byId.get(id);
    if (!before) throw new Error(`a partition journal entry claims ${id}, which no earlier entry or snapshot holds`);
    byId.set(id, { ...before, status: 'running', attempt: claims[i + 1] as number });
  }
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
  let totals = snapshot?.data.totals ?? emptyTotals();
  for (const record of snapshot?.data.records ?? []) byId.set(record.id, record);
  for (const delta of deltas) {
    for (const record of delta.upserts) byId.set(record.id, record);
    if (delta.fresh) for (const group of delta.fresh) applyFresh(byId, group);
    if (delta.accepted) for (const group of delta.accepted) applyAccepted(byId, group);
    if (delta.plain) for (const p of delta.plain) byId.set(p[0], fromPlain(p));
    if (delta.patches) for (const patch of delta.patches) applyPatch(byId, patch);
    if (delta.lifecycle) for (const patch of delta.lifecycle) applyLifecycle(byId, patch);
    if (delta.started) applyStarts(byId, delta.started, undefined);
    if (delta.degraded) applyStarts(byId, delta.degraded, true);
    if (delta.completed) applyCompletions(byId, delta.completed);
    if (delta.claims) applyClaims(byId, delta.claims);
    for (const id of delta.deletes) byId.delete(id);
    seq = delta.seq;
    totals = delta.totals;
  }
  return rebuild(index, seq, totals, [...byId.values()].map(ownRecord));
}

function rebuild(index: number, seq: number, totals: PartitionTotals, records: MutableRecord[]): Recovered {
  const state = initialPartitionState(index);
  state.seq = seq;
  Object.assign(state.totals, totals);
  const rerun: string[] = [];
  const waiting: PayloadRecord[] = [];
  const terminal: PayloadRecord[] = [];
  for (const record of records) {
    // Ledger ids must not repeat after a restart: a repeated id would replace a waiting entry in the coordinator's ledger.
    if (record.ledgerId !== undefined) state.ledgerSeq = Math.max(state.ledgerSeq, Number(record.ledgerId.slice(record.ledgerId.indexOf('-') + 1)) + 1);
    if (record.status === 'running') {
      // At-least-once: a payload that was running is queued again, keeping its tier and attempts.
      record.status = 'queued';
      rerun.push(record.id);
    }
    state.records.set(record.id, record);
    if (record.idempotencyKey !== undefined) state.idempotency.set(record.idempotencyKey, record.id);
    if (record.dedupe !== undefined) openWindow(state, record);
    if (record.status === 'queued') waiting.push(record);
    else if (record.status === 'delayed') {
      state.timers.insert(record.runAt ?? 0, record.id);
      state.delayed++;
      if (record.attempt > 0) state.retrying++;
    } else if (isTerminal(record.status) || record.status === 'moved') terminal.push(record); // a moved stub is retained like an ended record
  }
  // FIFO within a tier is the order payloads entered it.
  waiting.sort((a, b) => a.enqueuedAt - b.enqueuedAt || a.seq - b.seq);
  for (const record of waiting) {
    const { tier, type } = record;
    const queues = state.queues[tier];
    let queue = queues.get(type);
    if (!queue) queues.set(type, (queue = new TypeQueue<PayloadRecord>(tier, state.records)));
    queue.push(record);
    queue.confirm(queue.pushCount); // what recovery queues is stored
    state.queued[tier][type] = (state.queued[tier][type] ?? 0) + 1;
    state.depth[tier]++;
  }
  terminal.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  for (const record of terminal) state.retained.push(record.id);
  return { state, rerun };
}
