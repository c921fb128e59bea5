/**
 * Payload records are built field by field, always with the same fields in the same order: V8 then
 * gives every record one hidden class (fast property access, compact in-object storage), which
 * object spread with extra fields does not (`{ ...r, status }` takes a slow runtime path).
 */
import type { Payload, Tier } from '../../src/payload.ts';
import type { PayloadRecord } from './state.ts';

export type MutableRecord = { -readonly [K in keyof PayloadRecord]: PayloadRecord[K] };

export function newRecord(p: Payload, status: 'queued' | 'delayed', tier: Tier, seq: number, enqueuedAt: number): PayloadRecord {
  return {
    id: p.id,
    type: p.type,
    data: p.data,
    clientId: p.clientId,
    priority: p.priority,
    complexity: p.complexity,
    submittedAt: p.submittedAt,
    runAt: p.runAt,
    deadline: p.deadline,
    idempotencyKey: p.idempotencyKey,
    timeout: p.timeout,
    retries: p.retries,
    backoff: p.backoff,
    tags: p.tags,
    dependencies: p.dependencies,
    shardKey: p.shardKey,
    status,
    tier,
    attempt: 0,
    seq,
    enqueuedAt,
    startedAt: undefined,
    finishedAt: undefined,
    result: undefined,
    error: undefined,
    progress: undefined,
    degraded: undefined,
    checkpoint: undefined,
    ledgerId: undefined,
    movedTo: undefined,
  };
}

/** A fresh copy to change before it is stored; the stored original is never mutated. */
export function copyRecord(r: PayloadRecord): MutableRecord {
  return {
    id: r.id,
    type: r.type,
    data: r.data,
    clientId: r.clientId,
    priority: r.priority,
    complexity: r.complexity,
    submittedAt: r.submittedAt,
    runAt: r.runAt,
    deadline: r.deadline,
    idempotencyKey: r.idempotencyKey,
    timeout: r.timeout,
    retries: r.retries,
    backoff: r.backoff,
    tags: r.tags,
    dependencies: r.dependencies,
    shardKey: r.shardKey,
    status: r.status,
    tier: r.tier,
    attempt: r.attempt,
    seq: r.seq,
    enqueuedAt: r.enqueuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    result: r.result,
    error: r.error,
    progress: r.progress,
    degraded: r.degraded,
    checkpoint: r.checkpoint,
    ledgerId: r.ledgerId,
    movedTo: r.movedTo,
  };
}
