/** Checks of `handle(type, fn, options)`: every problem at once, each naming its field. */
import type { FieldProblem } from '../errors.ts';
import type { HandlerOptions } from '../execution/handlers.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { backoffProblems } from '../options.ts';

const HANDLER_FIELDS = { concurrency: true, timeout: true, retries: true, backoff: true, nonRetryable: true, batch: true } as const satisfies KnownFields<HandlerOptions>;
const BATCH_FIELDS = { max: true, waitMs: true } as const satisfies KnownFields<NonNullable<HandlerOptions['batch']>>;

export function handlerProblems(type: unknown, fn: unknown, options: HandlerOptions): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (typeof type !== 'string' || type.length === 0) problems.push({ field: 'type', problem: 'must be a non-empty string' });
  if (typeof fn !== 'function') problems.push({ field: 'handler', problem: 'must be a function' });
  problems.push(...unknownFields(options, HANDLER_FIELDS, '', 'is not a handler option'));
  if (typeof options !== 'object' || options === null || Array.isArray(options)) return problems;
  const positive = (field: keyof HandlerOptions, value: unknown, integer: boolean, max = Number.MAX_SAFE_INTEGER) => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < (field === 'retries' ? 0 : 1) || value > max || (integer && !Number.isInteger(value))) {
      problems.push({ field, problem: `must be a ${integer ? 'whole ' : ''}number between ${field === 'retries' ? 0 : 1} and ${max}` });
    }
  };
  positive('concurrency', options.concurrency, true);
  positive('timeout', options.timeout, false, 2_147_483_647);
  positive('retries', options.retries, true);
  problems.push(...backoffProblems(options.backoff, 'backoff'));
  if (options.nonRetryable !== undefined && typeof options.nonRetryable !== 'function') problems.push({ field: 'nonRetryable', problem: 'must be a function' });
  const { batch } = options;
  if (batch !== undefined && (typeof batch !== 'object' || batch === null || !Number.isInteger(batch.max) || batch.max < 1
    || typeof batch.waitMs !== 'number' || !Number.isFinite(batch.waitMs) || batch.waitMs < 0)) {
    problems.push({ field: 'batch', problem: 'must be { max: a whole number ≥ 1, waitMs: a number ≥ 0 }' });
  }
  if (typeof batch === 'object' && batch !== null && !Array.isArray(batch)) problems.push(...unknownFields(batch, BATCH_FIELDS, 'batch', 'is not a batch option'));
  return problems;
}
