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
  remove(id: string): Promise<boolean>;
  /** The cursor and the id of the last firing; undefined once the schedule was removed. */
  position(id: string): Promise<{ cursor: number; last: string | undefined } | undefined>;
  /** Moves the cursor to `tick` if it is behind; false when it was not (another node got there first) or the schedule is gone. */
  advance(id: string, tick: number, last: string | undefined): Promise<boolean>;
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

  async remove(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }

  async position(id: string): Promise<{ cursor: number; last: string | undefined } | undefined> {
    const row = this.rows.get(id);
    return row && { cursor: row.cursor, last: row.last };
  }

  async advance(id: string, tick: number, last: string | undefined): Promise<boolean> {
    const row = this.rows.get(id);
    if (!row || row.cursor >= tick) return false;
    this.rows.set(id, { ...row, cursor: tick, last: last ?? row.last });
    return true;
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
 * KEYS: 1 cursors hash, 2 last-ids hash. ARGV: 1 id, 2 tick, 3 last id ('' for none).
 * Returns 1 moved, 0 already at or past the tick, -1 no such schedule.
 */
const ADVANCE = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return -1 end
if tonumber(current) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[3]) end
return 1`;

type ScheduleRedis = Redis & {
  triageSchedulePut(defs: string, cursors: string, id: string, body: string, cursor: string, mode: string): Promise<number>;
  triageScheduleAdvance(cursors: string, lasts: string, id: string, tick: string, last: string): Promise<number>;
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

  async remove(id: string): Promise<boolean> {
    const results = await this.client.multi().hdel(this.defs, id).hdel(this.cursors, id).hdel(this.lasts, id).exec();
    return results?.[0]?.[1] === 1;
  }

  async position(id: string): Promise<{ cursor: number; last: string | undefined } | undefined> {
    const [cursor, last] = await Promise.all([this.client.hget(this.cursors, id), this.client.hget(this.lasts, id)]);
    return cursor === null ? undefined : { cursor: Number(cursor), last: last ?? undefined };
  }

  async advance(id: string, tick: number, last: string | undefined): Promise<boolean> {
    return (await this.client.triageScheduleAdvance(this.cursors, this.lasts, id, String(tick), last ?? '')) === 1;
  }
}
