/**
 * Dead letters: every payload of this node's partitions that fails for good is copied, with its
 * payload and attempts, into a bounded store apart from the partitions' `retainTerminal` window,
 * so it can be listed (`runtime.failed`) and run again (`runtime.retry`, `retryFailed`) as a new
 * attempt of the same id — from its record if the partition still holds it, else from the copy.
 */
import type { PayloadRecord } from '../../actors/partition/state.ts';
import type { ReviveResult, RevivedPayload } from '../../actors/partition/messages.ts';
import { OptionsError, TriageError, UnknownPayloadError, ValidationError } from '../errors.ts';
import type { EventHub, PayloadEvent } from '../events.ts';
import type { Logger } from '../execution/handlers.ts';
import { plainPayload, type Payload } from '../payload.ts';
import { MemoryDeadLetterStore, RedisDeadLetterStore, type DeadLetter, type DeadLetterStore } from '../dead-letters/store.ts';
import type { PersistenceEngine } from '../persistence/engine.ts';
import { unknownFields, type KnownFields } from '../known-fields.ts';
import { RedisEngine } from '../persistence/redis.ts';
import { FencedRedisEngine } from '../cluster/fenced-journal.ts';

export interface DeadLetterOptions {
  /** Most dead letters kept; the oldest go first. 0 keeps none. Default 10,000. */
  readonly max?: number;
}

const DEAD_LETTER_FIELDS = { max: true } as const satisfies KnownFields<DeadLetterOptions>;

export interface FailedQuery {
  readonly type?: string;
  readonly clientId?: string;
  /** Default 100, at most 1,000. */
  readonly limit?: number;
  /** `next` of the page before. */
  readonly cursor?: string;
}

const QUERY_FIELDS = { type: true, clientId: true, limit: true, cursor: true } as const satisfies KnownFields<FailedQuery>;

/** What `retryFailed` filters on. */
export interface RetryFilter {
  readonly type?: string;
  readonly clientId?: string;
}

const RETRY_FILTER_FIELDS = { type: true, clientId: true } as const satisfies KnownFields<RetryFilter>;

export interface FailedPage {
  /** Dead letters matching the filter. */
  readonly total: number;
  /** Newest first. */
  readonly items: readonly DeadLetter[];
  /** Pass as `cursor` for the next page; undefined on the last. */
  readonly next: string | undefined;
}

export interface DeadLetterHost {
  readonly events: EventHub;
  readonly logger: Logger;
  /** A record of a partition this process runs; undefined otherwise. */
  record(partition: number, id: string): PayloadRecord | undefined;
  /** Sends revivals to a partition this process runs; undefined when it runs elsewhere. */
  revive(partition: number, letters: readonly RevivedPayload[]): Promise<readonly ReviveResult[]> | undefined;
}

const DEFAULT_MAX = 10_000;
const MAX_LIMIT = 1_000;

export function compileDeadLetterOptions(raw: DeadLetterOptions | undefined): number {
  if (raw === undefined) return DEFAULT_MAX;
  const problems = unknownFields(raw, DEAD_LETTER_FIELDS, 'deadLetters', 'is not a dead-letter option');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new OptionsError(problems);
  const max = raw.max ?? DEFAULT_MAX;
  if (!Number.isInteger(max) || max < 0 || max > 10_000_000) problems.push({ field: 'deadLetters.max', problem: 'must be a whole number between 0 and 10000000' });
  if (problems.length > 0) throw new OptionsError(problems);
  return max;
}

export function deadLetterStoreOf(engine: PersistenceEngine, max: number): DeadLetterStore {
  const redis = engine instanceof FencedRedisEngine ? engine.inner : engine instanceof RedisEngine ? engine : undefined;
  return redis ? new RedisDeadLetterStore(redis.connection, redis.keys.prefix, max) : new MemoryDeadLetterStore(max);
}

export class DeadLetters {
  private readonly writes = new Set<Promise<void>>();
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly host: DeadLetterHost, private readonly store: DeadLetterStore, private readonly max: number) {}

  start(): void {
    if (this.max === 0) return;
    this.unsubscribe = this.host.events.on('failed', (event) => this.capture(event), { internal: true });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Dead letters newest first, filtered by type and client, a page at a time. */
  async failed(query: FailedQuery = {}): Promise<FailedPage> {
    const { type, clientId, limit, cursor } = checkQuery(query);
    const matching = (await this.all()).filter((l) => (type === undefined || l.type === type) && (clientId === undefined || l.clientId === clientId));
    const from = cursor === undefined ? 0 : matching.findIndex((l) => before(l, cursor));
    const start = from === -1 ? matching.length : from;
    const items = matching.slice(start, start + limit);
    const last = items.at(-1);
    return { total: matching.length, items, next: last && start + limit < matching.length ? `${last.failedAt}.${last.id}` : undefined };
  }

  /** Runs a dead letter again as a new attempt of the same id. False when it is no longer failed. Throws UnknownPayloadError. */
  async retry(id: string): Promise<boolean> {
    await this.settled();
    const letter = await this.store.get(id);
    if (!letter) throw new UnknownPayloadError(id);
    return (await this.reviveAll([letter])) === 1;
  }

  /** Retries every dead letter of a type and/or client; resolves with how many run again. */
  async retryWhere(filter: RetryFilter = {}): Promise<number> {
    const { type, clientId } = checkQuery(filter, RETRY_FILTER_FIELDS);
    const letters = (await this.all()).filter((l) => (type === undefined || l.type === type) && (clientId === undefined || l.clientId === clientId));
    return this.reviveAll(letters);
  }

  private async reviveAll(letters: readonly DeadLetter[]): Promise<number> {
    const byPartition = new Map<number, DeadLetter[]>();
    for (const letter of letters) {
      let list = byPartition.get(letter.partition);
      if (!list) byPartition.set(letter.partition, (list = []));
      list.push(letter);
    }
    let revived = 0;
    await Promise.all([...byPartition].map(async ([partition, group]) => {
      const answer = this.host.revive(partition, group.map((l) => ({ payload: l.payload, attempts: l.attempts })));
      if (!answer) throw new TriageError('CLUSTER_UNREACHABLE', `partition ${partition} runs on another node: retry ${group[0]!.id} there`);
      const results = await answer;
      // Revived or not (it is held and did not fail: it runs already), it is no dead letter any more.
      await Promise.all(group.map((l, i) => {
        if (results[i] === 'revived') revived++;
        return this.store.remove(l.id);
      }));
    }));
    return revived;
  }

  private capture(event: PayloadEvent): void {
    if (event.node !== undefined) return; // another node's partition: that node keeps it
    const record = this.host.record(event.partition, event.id);
    if (!record) {
      this.host.logger.warn('a payload failed for good but its record is gone (retainTerminal 0): no dead letter kept', { id: event.id });
      return;
    }
    const letter: DeadLetter = {
      id: record.id, type: record.type, clientId: record.clientId, partition: event.partition,
      failedAt: event.at, attempts: record.attempt, error: record.error, payload: payloadOf(record),
    };
    const write = this.store.add(letter).catch((error: unknown) => this.host.logger.error('a dead letter could not be stored', { id: record.id, error: String(error) }));
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }

  /** Resolves once the dead letters captured so far are stored. */
  settled(): Promise<void> {
    return Promise.all(this.writes).then(() => undefined);
  }

  private async all(): Promise<DeadLetter[]> {
    await this.settled();
    return (await this.store.all()).sort((a, b) => b.failedAt - a.failedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  }
}

/** Whether `letter` comes after the cursor `<failedAt>.<id>` in newest-first order. */
function before(letter: DeadLetter, cursor: string): boolean {
  const dot = cursor.indexOf('.');
  const at = Number(cursor.slice(0, dot));
  const id = cursor.slice(dot + 1);
  return letter.failedAt < at || (letter.failedAt === at && letter.id < id);
}

/** `fields`: what the caller filters on (`retryFailed` takes no page). */
function checkQuery(query: FailedQuery, fields: object = QUERY_FIELDS): Required<Pick<FailedQuery, 'limit'>> & FailedQuery {
  if (typeof query !== 'object' || query === null) throw new ValidationError([{ field: 'query', problem: 'must be an object' }]);
  const problems = unknownFields(query, fields, '', 'is not a filter field');
  for (const field of ['type', 'clientId'] as const) {
    const value = query[field];
    if (value !== undefined && (typeof value !== 'string' || value.length === 0)) problems.push({ field, problem: 'must be a non-empty string' });
  }
  const limit = query.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) problems.push({ field: 'limit', problem: `must be a whole number between 1 and ${MAX_LIMIT}` });
  if (query.cursor !== undefined && (typeof query.cursor !== 'string' || !/^\d+\.\S+$/.test(query.cursor))) problems.push({ field: 'cursor', problem: 'must be the `next` of an earlier page' });
  if (problems.length > 0) throw new ValidationError(problems);
  return { ...query, limit };
}

function payloadOf(record: PayloadRecord): Payload {
  return plainPayload(record, undefined, record.dependencies);
}
