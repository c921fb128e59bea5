/**
 * Rate limits shared by every node of a cluster. Each global or per-type `perSecond` is one token
 * bucket in Redis, refilled on Redis's own clock (`TIME`), so nodes need not agree on time; a node
 * leases a few tokens at a time (about 100 ms of the rate) and spends them locally, so a start costs
 * no round trip and the cluster as a whole keeps to the rate.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';

/** KEYS[1] bucket; ARGV rate/s, burst, tokens wanted → { granted, ms until the next token (0: none missing) }. */
const LEASE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1])
local at = tonumber(held[2])
if tokens == nil or at == nil then
  tokens = burst
  at = now
end
if now > at then
  tokens = math.min(burst, tokens + (now - at) * rate / 1000)
  at = now
end
local granted = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 60000)
local wait = 0
if granted < want and rate > 0 then wait = math.ceil((1 - (tokens % 1)) * 1000 / rate) end
return { granted, wait }
`;

type RateRedis = Redis & { triageRateLease(bucket: string, rate: string, burst: string, want: string): Promise<[number, number]> };

export interface RateLease {
  readonly granted: number;
  /** When fewer were granted than wanted: ms until the bucket holds another token. */
  readonly waitMs: number;
}

export class ClusterRates {
  private readonly client: RateRedis;

  constructor(client: Redis, private readonly keys: Pick<ClusterKeys, 'rateBucket'>) {
    client.defineCommand('triageRateLease', { numberOfKeys: 1, lua: LEASE });
    this.client = client as RateRedis;
  }

  /** Takes up to `want` starts from the cluster's bucket of `scope`. */
  async lease(scope: string, perSecond: number, burst: number, want: number): Promise<RateLease> {
    const [granted, waitMs] = await this.client.triageRateLease(this.keys.rateBucket(scope), String(perSecond), String(burst), String(want));
    return { granted: Number(granted), waitMs: Number(waitMs) };
  }
}
