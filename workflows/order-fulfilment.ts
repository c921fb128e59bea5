/**
 * Order fulfilment with compensation: validate, reserve every line (fan-out), charge, ship, and
 * notify. If a later step fails — shipping to a country no carrier serves, say — what was done is
 * undone latest first: the charge refunded, then each reservation released.
 */
import { v, workflow } from '../src/dsl/index.ts';
import type { handlers } from './order-fulfilment.handlers.ts';

/** What an order must look like: checked when an instance starts, each problem naming its field. */
export const OrderInput = v.strictObject({
  orderId: v.pipe(v.string(), v.nonEmpty()),
  lines: v.array(v.strictObject({ sku: v.pipe(v.string(), v.nonEmpty()), qty: v.pipe(v.number(), v.integer(), v.minValue(1)) })),
  country: v.pipe(v.string(), v.length(2, 'must be a two-letter country code')),
  express: v.boolean(),
});
export type OrderInput = v.InferOutput<typeof OrderInput>;

export default workflow<OrderInput, typeof handlers>('order-fulfilment', {
  description: 'reserve, charge, ship; refund and release on failure',
  input: OrderInput,
  sample: { orderId: 'o-1001', lines: [{ sku: 'book', qty: 2 }, { sku: 'lamp', qty: 1 }], country: 'DE', express: true },
})
  .step('validate', {
    handler: 'order.validate',
    priority: 'high',
    input: ({ input }) => ({ orderId: input.orderId, lines: input.lines }),
  })
  .each('reserve', {
    handler: 'inventory.reserve',
    after: ['validate'],
    over: ({ input }) => input.lines,
    input: ({ item }) => item,
    compensate: { handler: 'inventory.release', input: ({ result }) => ({ reservation: result.reservation }) },
  })
  .step('charge', {
    handler: 'payment.charge',
    after: ['validate', 'reserve'],
    priority: 'high',
    input: ({ input, results }) => ({ orderId: input.orderId, amount: results.validate.total }),
    compensate: { handler: 'payment.refund', input: ({ result }) => ({ chargeId: result.chargeId, amount: result.amount }) },
  })
  .step('ship', {
    handler: 'shipping.create',
    after: ['charge'],
    timeout: 5_000,
    retries: 1,
    input: ({ input }) => ({ orderId: input.orderId, country: input.country, express: input.express }),
  })
  .step('expressNote', {
    handler: 'notify.customer',
    after: ['ship'],
    when: ({ input }) => input.express,
    input: ({ input }) => ({ orderId: input.orderId, message: 'shipped express' }),
  })
  .output(({ input, results }) => ({
    orderId: input.orderId,
    charged: results.charge.amount,
    tracking: results.ship.tracking,
    notified: results.expressNote !== undefined,
  }));
