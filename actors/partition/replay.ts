/**
 * Recovery of a partition: its latest snapshot, then the journal entries after it (codec.ts has
 * their shapes), replayed into records; queues, timers, retention order, the idempotency index
 * and the dedupe windows are derived from the records.
 */
import { openWindow } from './dedupe-windows.ts';
import { ownRecord, type MutableRecord } from './record.ts';
import {
  DEFAULT_MAILBOX_POLICY, emptyTotals, initialPartitionState, isTerminal, newTypeQueue, type MailboxPolicy, type PartitionState, type PartitionTotals, type PayloadRecord,
} from './state.ts';
import {
  ACCEPTED_HEAD, ACCEPTED_STRIDE, FRESH_HEAD, FRESH_STRIDE, LIFECYCLE_FIELDS, PARTITION_SNAPSHOT_VERSION, TOTALS_ORDER,
  type LifecyclePatch, type PartitionDelta, type PartitionSnapshotData, type PlainRecord, type RecordPatch,
} from './codec.ts';

/**
 * The records replayed so far, by id. Entries of this build name the records they start, end,
 * claim and drop by seq (unique in a partition), those of earlier builds by id: the index by seq
 * is built on the first entry that needs it, and kept from then on.
 */
class Replayed {
  readonly byId = new Map<string, PayloadRecord>();
  private bySeq: Map<number, string> | undefined;

  set(record: PayloadRecord): void {
    this.byId.set(record.id, record);
    this.bySeq?.set(record.seq, record.id);
  }

  /** The record a reference names (an id, or a seq), as the replay holds it now. */
  get(ref: string | number, what: string): PayloadRecord {
    const record = this.byId.get(typeof ref === 'string' ? ref : (this.seqIndex().get(ref) ?? ''));
    if (!record || (typeof ref === 'number' && record.seq !== ref)) {
      throw new Error(`a partition journal entry ${what} ${typeof ref === 'string' ? ref : `seq ${ref}`}, which no earlier entry or snapshot holds`);
    }
    return record;
  }

  /** Drops the record a reference names; one dropped already, or made anew since under its id, stays as it is. */
  drop(ref: string | number): void {
    if (typeof ref === 'string') {
      this.byId.delete(ref);
      return;
    }
    const id = this.seqIndex().get(ref);
    if (id !== undefined && this.byId.get(id)?.seq === ref) this.byId.delete(id);
  }

  private seqIndex(): Map<number, string> {
    if (!this.bySeq) {
      this.bySeq = new Map();
      for (const record of this.byId.values()) this.bySeq.set(record.seq, record.id);
    }
    return this.bySeq;
  }
}

function applyAccepted(replayed: Replayed, group: readonly unknown[]): void {
  const [type, clientId, status, tier, priority, complexity, submittedAt, attempt, enqueuedAt] = group as [
    string, string, PayloadRecord['status'], PayloadRecord['tier'], number, number, number, number, number,
  ];
  for (let i = ACCEPTED_HEAD; i < group.length; i += ACCEPTED_STRIDE) {
    const id = group[i] as string;
    const data = group[i + 2] as 0 | [unknown];
    const record = { id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq: group[i + 1] as number, enqueuedAt };
    replayed.set((data === 0 ? record : { ...record, data: data[0] }) as PayloadRecord);
  }
}

function applyFresh(replayed: Replayed, fresh: readonly unknown[]): void {
  const [type, clientId, status, tier] = fresh as [string, string, PayloadRecord['status'], PayloadRecord['tier']];
  for (let i = FRESH_HEAD; i < fresh.length; i += FRESH_STRIDE) {
    const id = fresh[i] as string;
    const data = fresh[i + 7] as 0 | [unknown];
    const record = {
      id, type, clientId, priority: fresh[i + 1] as number, complexity: fresh[i + 2] as number, submittedAt: fresh[i + 3] as number,
      status, tier, attempt: fresh[i + 4] as number, seq: fresh[i + 5] as number, enqueuedAt: fresh[i + 6] as number,
    };
    replayed.set((data === 0 ? record : { ...record, data: data[0] }) as PayloadRecord);
  }
}

function fromPlain(p: PlainRecord): PayloadRecord {
  const [id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq, enqueuedAt] = p;
  const record = { id, type, clientId, priority, complexity, submittedAt, status, tier, attempt, seq, enqueuedAt };
  return (p.length > 11 ? { ...record, data: p[11] } : record) as PayloadRecord;
}

function applyLifecycle(replayed: Replayed, patch: LifecyclePatch): void {
  const [id, unset] = patch;
  const before = replayed.get(id, 'changes');
  // A copy: the entry and snapshot objects an engine hands back may be read again by a later recovery.
  const after: Record<string, unknown> = { ...before };
  let next = 2;
  for (let i = 0; i < LIFECYCLE_FIELDS.length; i++) {
    after[LIFECYCLE_FIELDS[i] as string] = (unset & (1 << i)) !== 0 ? undefined : patch[next++];
  }
  replayed.set(after as unknown as PayloadRecord);
}

function applyStarts(replayed: Replayed, started: readonly (string | number)[], degraded: true | undefined): void {
  const startedAt = started[0] as number;
  for (let i = 1; i < started.length; i += 2) {
    const before = replayed.get(started[i] as string | number, 'starts');
    replayed.set({ ...before, status: 'running', attempt: started[i + 1] as number, startedAt, degraded });
  }
}

function applyCompletions(replayed: Replayed, completed: readonly unknown[]): void {
  const finishedAt = completed[0] as number;
  for (let i = 1; i < completed.length; i++) {
    const item = completed[i] as string | number | [string | number, unknown];
    const [ref, result] = Array.isArray(item) ? item : [item, undefined];
    const before = replayed.get(ref, 'completes');
    replayed.set({ ...before, status: 'completed', finishedAt, result });
  }
}

/** Claimed records count as running (with the attempt they would start) until a later entry says otherwise. */
function applyClaims(replayed: Replayed, claims: readonly (string | number)[]): void {
  for (let i = 0; i < claims.length; i += 2) {
    const before = replayed.get(claims[i] as string | number, 'claims');
    replayed.set({ ...before, status: 'running', attempt: claims[i + 1] as number });
  }
}

/** Applies a patch to the record it was taken against. */
function applyPatch(replayed: Replayed, [id, set, unset]: RecordPatch): void {
  const before = replayed.get(id, 'patches');
  const after = { ...before, ...set } as Record<string, unknown>;
  if (unset) for (const field of unset) delete after[field];
  replayed.set(after as unknown as PayloadRecord);
}

function totalsOf(totals: PartitionTotals | readonly number[]): PartitionTotals {
  if (!Array.isArray(totals)) return totals as PartitionTotals;
  const named = emptyTotals();
  TOTALS_ORDER.forEach((name, i) => (named[name] = (totals[i] as number | undefined) ?? 0));
  return named;
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
  mailbox: MailboxPolicy = DEFAULT_MAILBOX_POLICY,
): Recovered {
  if (snapshot && snapshot.version !== PARTITION_SNAPSHOT_VERSION) throw new SnapshotVersionError(snapshot.version);
  const replayed = new Replayed();
  let seq = snapshot?.data.seq ?? 0;
  let totals = snapshot?.data.totals ?? emptyTotals();
  for (const record of snapshot?.data.records ?? []) replayed.set(record);
  for (const delta of deltas) {
    for (const record of delta.upserts) replayed.set(record);
    if (delta.fresh) for (const group of delta.fresh) applyFresh(replayed, group);
    if (delta.accepted) for (const group of delta.accepted) applyAccepted(replayed, group);
    if (delta.plain) for (const p of delta.plain) replayed.set(fromPlain(p));
    if (delta.patches) for (const patch of delta.patches) applyPatch(replayed, patch);
    if (delta.lifecycle) for (const patch of delta.lifecycle) applyLifecycle(replayed, patch);
    if (delta.started) applyStarts(replayed, delta.started, undefined);
    if (delta.degraded) applyStarts(replayed, delta.degraded, true);
    if (delta.completed) applyCompletions(replayed, delta.completed);
    if (delta.claims) applyClaims(replayed, delta.claims);
    for (const ref of delta.deletes) replayed.drop(ref);
    seq = delta.seq;
    totals = totalsOf(delta.totals);
  }
  return rebuild(index, seq, totals, [...replayed.byId.values()].map(ownRecord), mailbox);
}

function rebuild(index: number, seq: number, totals: PartitionTotals, records: MutableRecord[], mailbox: MailboxPolicy): Recovered {
  const state = initialPartitionState(index, mailbox);
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
    if (!queue) queues.set(type, (queue = newTypeQueue(state, tier)));
    queue.push(record);
    queue.confirm(queue.pushCount); // what recovery queues is stored
    state.queued[tier][type] = (state.queued[tier][type] ?? 0) + 1;
    state.depth[tier]++;
  }
  terminal.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  for (const record of terminal) state.retained.push(record.id);
  return { state, rerun };
}
