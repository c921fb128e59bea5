/**
 * The `hold` message: the partition's paused clients replaced whole. Payloads of clients no longer
 * paused go back to the tail of their FIFO; queued payloads of newly paused clients leave their
 * FIFOs for the side list (holds.ts). One pass over the FIFOs per change: an operator's action,
 * not a per-payload cost.
 */
import Denque from 'denque';
import { TIERS } from '../../src/payload.ts';
import { DedupeTx } from './dedupe.ts';
import { holdsOf, isHeld, keep, unkeep, type ClientHold } from './holds.ts';
import { isLiveIn, type PayloadRecord } from './state.ts';

export abstract class HoldTx extends DedupeTx {
  setHolds(list: readonly ClientHold[]): void {
    const { state } = this;
    const { holds } = state;
    holds.clients = holdsOf(list);
    for (const record of [...holds.records.values()]) {
      if (isHeld(holds, record)) continue;
      unkeep(state, record);
      this.queue(record);
    }
    if (holds.clients.size === 0) return;
    for (const tier of TIERS) {
      if (state.depth[tier] === 0) continue;
      const counts = state.queued[tier];
      for (const [type, queue] of state.queues[tier]) {
        let kept: Denque<string> | undefined;
        const ids = queue.toArray();
        for (let i = 0; i < ids.length; i++) {
          const id = ids[i] as string;
          const record = state.records.get(id);
          if (isLiveIn(record, tier) && isHeld(holds, record)) {
            kept ??= new Denque(ids.slice(0, i));
            counts[type] = (counts[type] ?? 1) - 1;
            state.depth[tier]--;
            keep(state, record as PayloadRecord);
          } else kept?.push(id);
        }
        if (kept) state.queues[tier].set(type, kept);
      }
    }
  }
}
