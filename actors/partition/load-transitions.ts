/**
 * Load-aware transitions: the coordinator's messages (degrade/restore a tier, serve one tier as
 * another, transfer queued payloads, reschedule or expire ledger entries) applied to a partition.
 */
import type { Tier } from '../../src/payload.ts';
import type { TierMode } from '../../src/load/options.ts';
import type { LedgerEntry } from '../coordinator/ledger.ts';
import { flatRecord, ownRecord } from './record.ts';
import { routeTierOf } from './routing.ts';
import { isLiveIn, type PayloadRecord } from './state.ts';
import { MailboxTx, SKIP_REASON, writable } from './transaction.ts';

/**
 * Payloads a tier entering `skip` moves to the ledger per message (a million at once would hold the
 * event loop for seconds; 2,000 in each of 16 partitions, all in one turn, held it ~14 ms of CPU). ~1–2 µs
 * each, so a slice stays well inside a turn's budget and the coordinator's ledger message is small too.
 */
export const SKIP_SLICE = 256;

/** Queued payloads a transfer looks at per one it may move (keyed ones stay, and are passed over). */
const TRANSFER_SCAN = 4;

/** What the coordinator asks of a partition: tier modes, serving a tier as another, transfers, make-up. */
export abstract class LoadTx extends MailboxTx {
  /**
   * A tier's mode; entering `skip` moves the payloads queued in it to the ledger, `SKIP_SLICE` per
   * turn: the rest follow as the next message to this partition (`continued`), which does nothing
   * once the tier left `skip` meanwhile.
   */
  setMode(tier: Tier, mode: TierMode, continued = false): void {
    const { state } = this;
    if (tier === 'critical') return;
    if (continued ? state.modes[tier] !== 'skip' : state.modes[tier] === mode) return;
    if (!continued) state.modes = { ...state.modes, [tier]: mode };
    if (mode !== 'skip' || state.depth[tier] === 0) return;
    const counts = state.queued[tier];
    let moved = 0;
    for (const [type, queue] of state.queues[tier]) {
      while (moved < SKIP_SLICE) {
        const record = queue.shift(this.now);
        if (!record) break;
        counts[type] = (counts[type] ?? 1) - 1;
        state.depth[tier]--;
        this.defer(record, SKIP_REASON);
        moved++;
      }
      if (moved >= SKIP_SLICE) break;
    }
    if (state.depth[tier] > 0) this.effects.push({ kind: 'forward', to: this.index, message: { type: 'degrade', tier, mode: 'skip', continued: true } });
  }

  serve(tier: Tier, as: Tier): void {
    if (this.state.serveAs[tier] !== as) this.state.serveAs = { ...this.state.serveAs, [tier]: as };
  }

  /**
   * Hands up to `max` queued payloads of `tier` to partition `to`, oldest first. Payloads with a
   * shard key, an idempotency key or a dedupe key stay: their key pins order and ownership to this partition.
   * A `moved` stub stays behind so lookups by id (which names this partition) follow the payload.
   */
  transferOut(tier: Tier, to: number, max: number): void {
    if (to === this.index) return;
    const { state } = this;
    const moved: PayloadRecord[] = [];
    for (const queue of state.queues[tier].values()) {
      // Picked first (unqueue changes the queue's heads as it goes), from the front and no further
      // than needed: a transfer's turn is bounded by `max`, not by how long the queue is.
      const want = max - moved.length;
      if (want <= 0) break;
      const picked: PayloadRecord[] = [];
      queue.walk(want * TRANSFER_SCAN + TRANSFER_SCAN, (record) => {
        if (record.shardKey === undefined && record.idempotencyKey === undefined && record.dedupe === undefined) picked.push(record);
        return picked.length < want;
      });
      for (const record of picked) {
        const id = record.id;
        if (!isLiveIn(record, tier)) continue;
        // The record leaves with the message; the stub that stays is a copy this partition owns.
        const leaving = flatRecord(record);
        this.unqueue(record);
        const stub = writable(record);
        stub.status = 'moved';
        stub.movedTo = to;
        stub.finishedAt = this.now;
        this.touch(stub);
        this.retain(id);
        moved.push(leaving);
      }
    }
    if (moved.length === 0) return;
    state.flow.transferredOut += moved.length;
    this.effects.push({ kind: 'forward', to, message: { type: 'transfer-in', from: this.index, records: moved } });
  }

  /** Payloads from another partition join this one's queues, keeping their tier and their wait. */
  transferIn(records: readonly PayloadRecord[]): void {
    const { state } = this;
    for (const record of records) {
      // Delivered again after a crash (an inbox is read at least once): taken in once. A `moved`
      // stub is this partition's own payload that went away and now comes back.
      const here = state.records.get(record.id);
      if (here && here.status !== 'moved') continue;
      const next = ownRecord(record);
      next.status = 'queued';
      next.seq = state.seq++;
      next.movedTo = undefined;
      next.finishedAt = undefined;
      this.add(next);
      this.queue(next);
    }
    state.flow.transferredIn += records.length;
  }

  /** Ledger entries due again: queued with a raised priority, unless their deadline passed. */
  reschedule(entries: readonly LedgerEntry[], boost: number, force: boolean): void {
    for (const entry of entries) {
      const record = this.deferredOf(entry);
      if (!record) continue;
      if (record.deadline !== undefined && record.deadline <= this.now) {
        this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed in the ledger', ledgerId: entry.ledgerId });
        continue;
      }
      const next = writable(record);
      next.priority = Math.min(10, record.priority + boost);
      next.tier = routeTierOf(next.priority, this.env.load ? this.env.load.complexityOf(record) : record.complexity, this.env.options);
      next.status = 'queued';
      next.enqueuedAt = this.now;
      next.ledgerId = undefined;
      this.state.flow.rescheduled++;
      this.emit('rescheduled', next, { ledgerId: entry.ledgerId, priority: next.priority, reason: force ? 'rescheduled by an operator' : 'load fell; made up' });
      this.queue(next, force);
    }
  }

  expire(entries: readonly LedgerEntry[]): void {
    for (const entry of entries) {
      const record = this.deferredOf(entry);
      if (record) this.finish(record, 'expired', undefined, undefined, { reason: 'its deadline passed in the ledger', ledgerId: entry.ledgerId });
    }
  }

  /** Sends the ledger what this transition skipped into it or cancelled out of it. */
  flushLedger(): void {
    if (this.ledgerOut.length > 0) this.effects.push({ kind: 'ledger', entries: this.ledgerOut });
    if (this.unledgered.length > 0) this.effects.push({ kind: 'unledger', ledgerIds: this.unledgered });
  }
}
