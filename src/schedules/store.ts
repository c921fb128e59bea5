/**
 * Where schedules live: their definitions, and per schedule a cursor (the latest tick dealt with)
 * and the id its last firing got. On Redis, three hashes under one hash tag, shared by every node of
 * a cluster; in memory, the same semantics in this process. The cursor only moves forward, so a
 * tick, once dealt with by any node, is never fired again, also after a restart.
 */
import type { Redis } from 'ioredis';

export interface StoredSchedule {
  readonly id: string;
  /** The encoded definition (see actors/schedule/codec.ts). */
  readonly body: string;
  readonly cursor: number;
  readonly last: string | undefined;
}

export interface ScheduleStore {
  /** Every stored schedule. */
  load(): Promise<StoredSchedule[]>;
  /**
   * Stores a definition. The cursor is set to `cursor` when the schedule has none (`ifAbsent`: a
   * schedule declared again keeps its place), or raised to it (`atLeast`: resuming skips the pause).
   */
  put(id: string, body: string, cursor: number, mode: 'ifAbsent' | 'atLeast'): Promise<void>;
  /** Deletes a schedule; resolves with the position it had (undefined when there was none), read in the same atomic step. */
  remove(id: string): Promise<SchedulePosition | undefined>;
  /** Each schedule's cursor and the id of its last firing (undefined once it was removed), in one round trip. */
  positions(ids: readonly string[]): Promise<Array<SchedulePosition | undefined>>;
  /**
   * Moves each cursor to its `tick` if it is behind, in order, in one round trip: per move `moved`,
   * `behind` when the cursor was not behind (another node got there first), or `gone` when the
   * schedule is no longer stored (removed meanwhile).
   */
  advance(moves: readonly CursorMove[]): Promise<AdvanceResult[]>;
}

export type AdvanceResult = 'moved' | 'behind' | 'gone';

export interface SchedulePosition {
  readonly cursor: number;
  readonly last: string | undefined;
}

export interface CursorMove {
  readonly id: string;
  readonly tick: number;
  /** The payload the tick fired (undefined: the tick was dealt with without firing). */
  readonly last: string | undefined;
}

export class MemoryScheduleStore implements ScheduleStore {
  private readonly rows = new Map<string, { body: string; cursor: number; last: string | undefined }>();

  async load(): Promise<StoredSchedule[]> {
    return [...this.rows].map(([id, row]) => ({ id, ...row }));
  }

  async put(id: string, body: string, cursor: number, mode: 'ifAbsent' | 'atLeast'): Promise<void> {
    const row = this.rows.get(id);
    if (!row) this.rows.set(id, { body, cursor, last: undefined });
    else this.rows.set(id, { ...row, body, cursor: mode === 'atLeast' ? Math.max(row.cursor, cursor) : row.cursor });
  }

  async remove(id: string): Promise<SchedulePosition | undefined> {
    const row = this.rows.get(id);
    this.rows.delete(id);
    return row && { cursor: row.cursor, last: row.last };
  }

  /** The rows themselves, read at once by the caller (no copy per schedule per second). */
  async positions(ids: readonly string[]): Promise<Array<SchedulePosition | undefined>> {
    return ids.map((id) => this.rows.get(id));
  }

  async advance(moves: readonly CursorMove[]): Promise<AdvanceResult[]> {
    return moves.map(({ id, tick, last }) => {
      const row = this.rows.get(id);
      if (!row) return 'gone';
      if (row.cursor >= tick) return 'behind';
      row.cursor = tick;
      if (last !== undefined) row.last = last;
      return 'moved';
    });
  }
}

/**
 * KEYS: 1 definitions hash, 2 cursors hash. ARGV: 1 id, 2 body, 3 cursor, 4 mode (`ifAbsent` | `atLeast`).
 * Returns 1.
 */
const PUT = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local current = redis.call('HGET', KEYS[2], ARGV[1])
if (not current) or (ARGV[4] == 'atLeast' and tonumber(current) < tonumber(ARGV[3])) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
end
return 1`;

/**
 * KEYS: 1 cursors hash, 2 last-ids hash. ARGV: triples of id, tick, last id ('' for none), applied in order.
 * Returns one code per triple: 1 moved, 0 already at or past the tick, -1 no such schedule.
 */
const ADVANCE = `
local results = {}
for i = 1, #ARGV, 3 do
  local id, tick, last = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('HGET', KEYS[1], id)
  if not current then
    results[#results + 1] = -1
  elseif tonumber(current) >= tonumber(tick) then
    results[#results + 1] = 0
  else
    redis.call('HSET', KEYS[1], id, tick)
    if last ~= '' then redis.call('HSET', KEYS[2], id, last) end
    results[#results + 1] = 1
  end
end
return results`;

type ScheduleRedis = Redis & {
  triageSchedulePut(defs: string, cursors: string, id: string, body: string, cursor: string, mode: string): Promise<number>;
  triageScheduleAdvance(cursors: string, lasts: string, ...moves: string[]): Promise<number[]>;
};

export class RedisScheduleStore implements ScheduleStore {
  private readonly client: ScheduleRedis;
  private readonly defs: string;
  private readonly cursors: string;
  private readonly lasts: string;

  constructor(client: Redis, prefix: string) {
    // One hash tag: the three hashes share a Redis Cluster slot, so each script may touch them all.
    this.defs = `${prefix}:{schedules}:defs`;
    this.cursors = `${prefix}:{schedules}:cursor`;
    this.lasts = `${prefix}:{schedules}:last`;
    client.defineCommand('triageSchedulePut', { numberOfKeys: 2, lua: PUT });
    client.defineCommand('triageScheduleAdvance', { numberOfKeys: 2, lua: ADVANCE });
    this.client = client as ScheduleRedis;
  }

  async load(): Promise<StoredSchedule[]> {
    const [defs, cursors, lasts] = await Promise.all([this.client.hgetall(this.defs), this.client.hgetall(this.cursors), this.client.hgetall(this.lasts)]);
    return Object.entries(defs).map(([id, body]) => ({ id, body, cursor: Number(cursors[id] ?? 0), last: lasts[id] }));
  }

  async put(id: string, body: string, cursor: number, mode: 'ifAbsent' | 'atLeast'): Promise<void> {
    await this.client.triageSchedulePut(this.defs, this.cursors, id, body, String(cursor), mode);
  }

  async remove(id: string): Promise<SchedulePosition | undefined> {
    // One transaction: a firing that moves the cursor after this read finds the schedule gone.
    const results = await this.client.multi().hget(this.cursors, id).hget(this.lasts, id).hdel(this.defs, id).hdel(this.cursors, id).hdel(this.lasts, id).exec();
    if (results?.[2]?.[1] !== 1) return undefined;
    const cursor = results[0]?.[1];
    const last = results[1]?.[1];
    return { cursor: typeof cursor === 'string' ? Number(cursor) : 0, last: typeof last === 'string' ? last : undefined };
  }

  async positions(ids: readonly string[]): Promise<Array<SchedulePosition | undefined>> {
    if (ids.length === 0) return [];
    const [cursors, lasts] = await Promise.all([this.client.hmget(this.cursors, ...ids), this.client.hmget(this.lasts, ...ids)]);
    return ids.map((_, i) => {
      const cursor = cursors[i];
      return cursor === null || cursor === undefined ? undefined : { cursor: Number(cursor), last: lasts[i] ?? undefined };
    });
  }

  async advance(moves: readonly CursorMove[]): Promise<AdvanceResult[]> {
    if (moves.length === 0) return [];
    const args = moves.flatMap(({ id, tick, last }) => [id, String(tick), last ?? '']);
    return (await this.client.triageScheduleAdvance(this.cursors, this.lasts, ...args)).map((code) => (code === 1 ? 'moved' : code === 0 ? 'behind' : 'gone'));
  }
}
