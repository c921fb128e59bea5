/**
 * The `unpark` message: client FIFOs a limit parked are offered again (src/limits/gate.ts wakes them).
 * The `hold` message: the partition's paused clients replaced whole. Payloads of clients no longer
 * paused go back to the tail of their FIFO; queued payloads of newly paused clients leave for the
 * side list (holds.ts). Each tier × type keeps a FIFO per client, so a pause takes the paused
 * clients' FIFOs out whole and never looks at other clients' payloads.
 */
import { TIERS } from '../../src/payload.ts';
import { DedupeTx } from './dedupe.ts';
import { holdsOf, isHeld, keep, unkeep, type ClientHold } from './holds.ts';

export abstract class HoldTx extends DedupeTx {
  /** Offers again what limits held on these scopes (every scope when undefined); what is still held is parked again at the next grant. */
  unpark(scopes: readonly string[] | undefined): void {
    const holds = this.state.limitHolds;
    for (const scope of scopes ?? [...holds.keys()]) {
      const parked = holds.get(scope);
      if (!parked) continue;
      holds.delete(scope);
      for (const { queue, clientId } of parked) queue.unpark(clientId);
    }
  }

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
        for (const [clientId, types] of holds.clients) {
          if (types !== '*' && !types.has(type)) continue;
          for (const record of queue.takeClient(clientId)) {
            counts[type] = (counts[type] ?? 1) - 1;
            state.depth[tier]--;
            keep(state, record);
          }
        }
      }
    }
  }
}
