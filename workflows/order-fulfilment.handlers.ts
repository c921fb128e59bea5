/**
 * Handlers of the order-fulfilment workflow: an in-memory inventory, payment ledger and carrier.
 * `makeHandlers` builds them over a fresh store (tests inspect it); `handlers` is the set
 * `triage run workflows/order-fulfilment.ts` registers.
 */
import type { HandlerContext, HandlerOptions } from '../src/index.ts';
import { NonRetryableError } from '../src/index.ts';

export interface OrderLine {
  readonly sku: string;
  readonly qty: number;
}

export interface OrderStore {
  readonly stock: Map<string, number>;
  readonly prices: ReadonlyMap<string, number>;
  /** Every side effect in the order it happened: what compensation must undo, latest first. */
  readonly journal: string[];
}

export function makeStore(): OrderStore {
  return {
    stock: new Map([['book', 10], ['lamp', 3], ['desk', 1]]),
    prices: new Map([['book', 12], ['lamp', 40], ['desk', 250]]),
    journal: [],
  };
}

const SHIPPABLE = new Set(['DE', 'FR', 'NL', 'GB', 'US']);

export function makeHandlers(store: OrderStore = makeStore()) {
  return {
    'order.validate': (order: { orderId: string; lines: readonly OrderLine[] }) => {
      if (order.lines.length === 0) throw new NonRetryableError(`order ${order.orderId} has no lines`);
      let total = 0;
      for (const line of order.lines) {
        const price = store.prices.get(line.sku);
        if (price === undefined) throw new NonRetryableError(`unknown sku ${line.sku}`);
        total += price * line.qty;
      }
      return { total };
    },
    'inventory.reserve': (line: OrderLine) => {
      const left = store.stock.get(line.sku) ?? 0;
      if (left < line.qty) throw new NonRetryableError(`only ${left} × ${line.sku} in stock`);
      store.stock.set(line.sku, left - line.qty);
      store.journal.push(`reserve ${line.sku}×${line.qty}`);
      return { reservation: `${line.sku}:${line.qty}` };
    },
    'inventory.release': (release: { reservation: string }) => {
      const [sku = '', qty = '0'] = release.reservation.split(':');
      store.stock.set(sku, (store.stock.get(sku) ?? 0) + Number(qty));
      store.journal.push(`release ${sku}×${qty}`);
      return true;
    },
    'payment.charge': (charge: { orderId: string; amount: number }) => {
      store.journal.push(`charge ${charge.amount}`);
      return { chargeId: `ch-${charge.orderId}`, amount: charge.amount };
    },
    'payment.refund': (refund: { chargeId: string; amount: number }) => {
      store.journal.push(`refund ${refund.amount}`);
      return true;
    },
    'shipping.create': async (shipment: { orderId: string; country: string; express: boolean }, ctx: HandlerContext) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (!SHIPPABLE.has(shipment.country)) throw new NonRetryableError(`no carrier ships to ${shipment.country}`);
      ctx.progress('label printed');
      store.journal.push(`ship ${shipment.country}${shipment.express ? ' express' : ''}`);
      return { tracking: `TRK-${shipment.orderId}-${shipment.country}` };
    },
    'notify.customer': (note: { orderId: string; message: string }) => {
      store.journal.push(`notify ${note.message}`);
      return { sent: true };
    },
  };
}

export const handlers = makeHandlers();

/** Per-type options, registered with the handlers (by `triage run` and `triage start`). */
export const handlerOptions: Readonly<Record<string, HandlerOptions>> = {
  'payment.charge': { retries: 2, backoff: { initialMs: 200 } },
  'shipping.create': { timeout: 5_000 },
};
