/**
 * Debounce and throttle by key, decided where the key lives: the dedupe key picks the partition
 * (src/runtime/submissions.ts), so one partition sees every submit under a key, on every node.
 *
 * - throttle: the first payload of a key opens a window of `ttlMs` from its submit; later submits
 *   under the key inside it are answered with the first one's id and enqueue nothing.
 * - debounce: the first payload waits as a delayed record until `ttlMs` after the latest submit
 *   under its key; each later submit replaces its data and pushes its due time (same id). Its timer
 *   entry is not moved: the sweep finds the record due later and puts it back (one heap entry per
 *   record, however often it is replaced).
 *
 * The windows are derived state, like the idempotency index: recovery rebuilds them from the
 * records (codec.ts). A replacement is journalled as the record whole, so its new data is durable
 * before the submit is answered; a replacement the store refused is reverted.
 */
import { plainPayload, type Payload } from '../../src/payload.ts';
import type { DebounceRevert, EnqueueResult } from './messages.ts';
import { LoadTx } from './load-transitions.ts';
import { writable } from './transaction.ts';

export abstract class DedupeTx extends LoadTx {
  /** Debounce replacements of this transition, to revert if its journal entry is refused. */
  protected readonly reverts: DebounceRevert[] = [];

  /**
   * The answer to a dedupe payload whose key has an open window (throttle: the first id; debounce:
   * the held id, its data replaced), or undefined when it opens a new one.
   */
  protected deduplicated(payload: Payload): EnqueueResult | undefined {
    const dedupe = payload.dedupe;
    if (dedupe === undefined) return undefined;
    this.expireWindows();
    const window = this.state.dedupe.get(dedupe.key);
    if (window === undefined) return undefined;
    if (dedupe.mode === 'throttle') {
      return window.until !== undefined && window.until > this.now ? { ok: true, id: window.id, duplicate: true } : undefined;
    }
    const held = window.until === undefined ? this.state.records.get(window.id) : undefined;
    if (held === undefined || held.status !== 'delayed') return undefined;
    const next = writable(held);
    this.reverts.push({ id: held.id, data: held.data, runAt: held.runAt as number });
    next.data = payload.data;
    next.runAt = this.now + dedupe.ttlMs;
    this.rewrite(next);
    return { ok: true, id: held.id, duplicate: true, replaced: true };
  }

  /** A debounce payload opening its window waits `ttlMs` as a delayed record. */
  protected debounced(payload: Payload): Payload {
    return payload.dedupe?.mode === 'debounce' ? plainPayload(payload, this.now + payload.dedupe.ttlMs, payload.dependencies) : payload;
  }

  /** The store refused a replacement: the held record gets back its data and due time. */
  revert(reverts: readonly DebounceRevert[]): void {
    for (const { id, data, runAt } of reverts) {
      const record = this.state.records.get(id);
      if (!record || record.status !== 'delayed') continue;
      const next = writable(record);
      next.data = data;
      next.runAt = runAt;
      this.rewrite(next);
      // The heap may hold only the later due time now; an extra entry is skipped when it comes.
      this.state.timers.insert(runAt, id);
    }
  }

  /** Throttle windows that ended are forgotten (their keys free again). */
  protected expireWindows(): void {
    const { dedupe, dedupeExpiry } = this.state;
    for (let at = dedupeExpiry.peekKey(); at !== undefined && at <= this.now; at = dedupeExpiry.peekKey()) {
      const key = dedupeExpiry.pop() as string;
      const until = dedupe.get(key)?.until;
      if (until !== undefined && until <= this.now) dedupe.delete(key);
    }
  }
}
