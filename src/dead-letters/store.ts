/**
 * Where dead letters are kept: payloads that failed for good, apart from the partitions' terminal
 * retention, bounded (the oldest go first). On Redis a hash of entries and a sorted set of their
 * order under one hash tag, trimmed by one script as an entry is added; in memory otherwise.
 */
import type { Redis } from 'ioredis';
import type { PayloadFailure } from '../errors.ts';
import type { Payload } from '../payload.ts';

/** One payload that failed for good. */
export interface DeadLetter {
  readonly id: string;
  readonly type: string;
  readonly clientId: string;
  readonly partition: number;
  /** When it failed for good, epoch ms. */
  readonly failedAt: number;
  /** Attempts it had. */
  readonly attempts: number;
  readonly error: PayloadFailure | undefined;
  /** What a retry submits again if the partition no longer holds it. */
  readonly payload: Payload;
}

export interface DeadLetterStore {
  /** Adds (or replaces) an entry; the oldest beyond `max` are dropped. */
  add(letter: DeadLetter): Promise<void>;
  remove(id: string): Promise<void>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** Every entry, newest first. */
  all(): Promise<DeadLetter[]>;
}

export class MemoryDeadLetterStore implements DeadLetterStore {
  /** Insertion order is failure order: the first key is the oldest. */
  private readonly letters = new Map<string, DeadLetter>();

  constructor(private readonly max: number) {}

  async add(letter: DeadLetter): Promise<void> {
    this.letters.delete(letter.id);
    this.letters.set(letter.id, letter);
    for (const id of this.letters.keys()) {
      if (this.letters.size <= this.max) break;
      this.letters.delete(id);
    }
  }

  async remove(id: string): Promise<void> {
    this.letters.delete(id);
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    return this.letters.get(id);
  }

  async all(): Promise<DeadLetter[]> {
    return [...this.letters.values()].reverse();
  }
}

/**
 * KEYS: 1 entries hash, 2 order sorted set. ARGV: 1 id, 2 failedAt, 3 entry JSON, 4 max entries.
 * Returns how many old entries were dropped.
 */
const ADD = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if over <= 0 then return 0 end
local oldest = redis.call('ZPOPMIN', KEYS[2], over)
for i = 1, #oldest, 2 do redis.call('HDEL', KEYS[1], oldest[i]) end
return over`;

type DeadLetterRedis = Redis & { triageDeadLetterAdd(entries: string, order: string, id: string, failedAt: string, body: string, max: string): Promise<number> };

export class RedisDeadLetterStore implements DeadLetterStore {
  private readonly client: DeadLetterRedis;
  private readonly entries: string;
  private readonly order: string;

  constructor(client: Redis, prefix: string, private readonly max: number) {
    this.entries = `${prefix}:{dead}:entries`;
    this.order = `${prefix}:{dead}:order`;
    client.defineCommand('triageDeadLetterAdd', { numberOfKeys: 2, lua: ADD });
    this.client = client as DeadLetterRedis;
  }

  async add(letter: DeadLetter): Promise<void> {
    await this.client.triageDeadLetterAdd(this.entries, this.order, letter.id, String(letter.failedAt), JSON.stringify(letter), String(this.max));
  }

  async remove(id: string): Promise<void> {
    await this.client.multi().hdel(this.entries, id).zrem(this.order, id).exec();
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    const body = await this.client.hget(this.entries, id);
    return body === null ? undefined : decodeDeadLetter(body);
  }

  async all(): Promise<DeadLetter[]> {
    const ids = await this.client.zrevrange(this.order, 0, -1);
    if (ids.length === 0) return [];
    const bodies = await this.client.hmget(this.entries, ...ids);
    return bodies.flatMap((body) => (body === null ? [] : [decodeDeadLetter(body)]));
  }
}

/** Data from the store is checked, not cast: the fields a listing and a retry rely on. */
function decodeDeadLetter(body: string): DeadLetter {
  const letter = JSON.parse(body) as Partial<DeadLetter>;
  const payload = letter.payload as Partial<Payload> | undefined;
  if (typeof letter.id !== 'string' || typeof letter.type !== 'string' || typeof letter.clientId !== 'string' || typeof letter.failedAt !== 'number'
    || typeof letter.attempts !== 'number' || typeof letter.partition !== 'number' || payload?.id !== letter.id || typeof payload.type !== 'string') {
    throw new Error('a stored dead letter is not one');
  }
  return letter as DeadLetter;
}
