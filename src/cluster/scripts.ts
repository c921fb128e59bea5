/**
 * Redis scripts of the clustered runtime: each check-then-write is one atomic script. The header of
 * each lists its keys, arguments and return codes; the codes are mirrored in TypeScript next to it.
 * Fencing tokens are compared as the decimal strings Redis stores, never as floats.
 */
import { appendLua } from '../persistence/scripts.ts';

/**
 * leaseAcquire
 *   KEYS[1] lease hash: field `node` (holder id), field `token` (fencing token); expires with the lease
 *   KEYS[2] fencing counter (a plain integer that never expires, so tokens only grow)
 *   ARGV[1] node id
 *   ARGV[2] lease ttl in ms
 * Returns the new fencing token (≥ 1) when the lease was free, expired or already this node's;
 * 0 when another node holds it. Re-acquiring one's own lease issues a new token, so writes of an
 * earlier incarnation of the same node id are fenced out too.
 */
export const LEASE_ACQUIRE = `
local holder = redis.call('HGET', KEYS[1], 'node')
if holder and holder ~= ARGV[1] then return 0 end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return token
`;

export const LEASE_HELD_ELSEWHERE = 0;

/**
 * leaseRenew
 *   KEYS[1] lease hash
 *   ARGV[1] node id
 *   ARGV[2] fencing token
 *   ARGV[3] lease ttl in ms
 * Returns 1 renewed, 0 lost (expired, or held by another node or with another token).
 */
export const LEASE_RENEW = `
local lease = redis.call('HMGET', KEYS[1], 'node', 'token')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

export const LEASE_RENEWED = 1;
export const LEASE_LOST = 0;

/**
 * leaseRelease
 *   KEYS[1] lease hash
 *   ARGV[1] node id
 *   ARGV[2] fencing token
 * Returns 1 released, 0 not ours (nothing deleted). The fencing counter stays.
 */
export const LEASE_RELEASE = `
local lease = redis.call('HMGET', KEYS[1], 'node', 'token')
if lease[1] ~= ARGV[1] or lease[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

export const LEASE_RELEASED = 1;
export const LEASE_NOT_OURS = 0;

/** Prefix of the error the fenced scripts raise; the full text is `TRIAGE_FENCED <stored> <given>`. */
export const FENCED_ERROR = 'TRIAGE_FENCED';

/**
 * fencedAppend — `append` of src/persistence/scripts.ts behind a lease check: the journal of a
 * partition takes entries only from the holder of the partition's current fencing token.
 *   KEYS[1] journal stream (entry ids are `<seq>-1`, field `d` holds the JSON body)
 *   KEYS[2] the partition's lease hash (field `token`)
 *   KEYS[3] snapshot hash; its field `last` is the journal's last stored seq
 *   ARGV[1] fencing token of the writer
 *   ARGV[2…] seq1, body1, seq2, body2, … in increasing seq
 * Returns the number of entries appended (entries at or below the last stored seq are skipped).
 * Errors, writing nothing:
 *   `TRIAGE_FENCED <stored> <given>` when the lease's token is not ARGV[1] (stored is 0 when the
 *     lease expired and no one took it since);
 *   `TRIAGE_GAP <last> <seq>` when an entry would leave a gap after the last stored one.
 * The last seq comes from the hash, or from the stream when the field is missing or the batch does
 * not follow it (see `append`).
 */
export const FENCED_APPEND = `
local stored = redis.call('HGET', KEYS[2], 'token')
if stored ~= ARGV[1] then return redis.error_reply('${FENCED_ERROR} ' .. (stored or '0') .. ' ' .. ARGV[1]) end
${appendLua('KEYS[1]', 'KEYS[3]', 2)}`;

/**
 * fencedTransfer — one journal entry of a partition and one message to another partition's inbox,
 * in one atomic step: payloads a partition hands to a partition on another node are either still
 * its own (nothing written) or journalled as moved and waiting in the target's inbox.
 *   KEYS[1] journal stream, KEYS[2] lease hash, KEYS[3] snapshot hash (as fencedAppend)
 *   KEYS[4] the target partition's inbox stream
 *   ARGV[1] fencing token of the writer
 *   ARGV[2] the inbox message (JSON, field `d`)
 *   ARGV[3] seq, ARGV[4] body of the journal entry
 * Returns 1 when appended (and the message added), 0 when the entry was stored already (a retried
 * batch: its message was added with it, so it is not added again). Errors as fencedAppend.
 */
export const FENCED_TRANSFER = `
local stored = redis.call('HGET', KEYS[2], 'token')
if stored ~= ARGV[1] then return redis.error_reply('${FENCED_ERROR} ' .. (stored or '0') .. ' ' .. ARGV[1]) end
${appendLua('KEYS[1]', 'KEYS[3]', 3, "if appended > 0 then redis.call('XADD', KEYS[4], '*', 'd', ARGV[2]) end")}`;

/**
 * fencedTakeSnapshot — `takeSnapshot` of src/persistence/scripts.ts behind the same lease check.
 *   KEYS[1] snapshot hash: field `seq` (number), field `body` (JSON {version, data})
 *   KEYS[2] journal stream (entry ids are `<seq>-1`)
 *   KEYS[3] the partition's lease hash (field `token`)
 *   ARGV[1] fencing token of the writer
 *   ARGV[2] snapshot seq
 *   ARGV[3] snapshot body JSON
 * Returns 1 stored (journal entries ≤ seq trimmed), 0 stale (a snapshot with seq ≥ ARGV[2] exists).
 * Errors `TRIAGE_FENCED <stored> <given>`, writing nothing, when the lease's token is not ARGV[1].
 */
export const FENCED_TAKE_SNAPSHOT = `
local stored = redis.call('HGET', KEYS[3], 'token')
if stored ~= ARGV[1] then return redis.error_reply('${FENCED_ERROR} ' .. (stored or '0') .. ' ' .. ARGV[1]) end
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[2], 'body', ARGV[3])
redis.call('XTRIM', KEYS[2], 'MINID', tostring(tonumber(ARGV[2]) + 1) .. '-0')
return 1
`;

/**
 * membersLive — drops nodes whose heartbeat expired, then lists the rest.
 *   KEYS[1] members sorted set (score = expiry time in ms)
 *   KEYS[2] member info hash (node id → JSON)
 *   ARGV[1] now in ms
 * Returns a flat list: id1, expiry1, info1, id2, … (info is false when missing), by expiry.
 */
export const MEMBERS_LIVE = `
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if #dead > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead))
  redis.call('HDEL', KEYS[2], unpack(dead))
end
local live = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local out = {}
for i = 1, #live, 2 do
  out[#out + 1] = live[i]
  out[#out + 1] = live[i + 1]
  out[#out + 1] = redis.call('HGET', KEYS[2], live[i])
end
return out
`;

/**
 * shapeAgree — records the cluster's shape on the first call, and returns what is recorded.
 *   KEYS[1] shape hash: fields `partitions`, `layout`
 *   ARGV[1] partition count, ARGV[2] key layout version of the caller
 * Returns { partitions, layout } as stored (the caller's own when it was the first).
 */
export const SHAPE_AGREE = `
redis.call('HSETNX', KEYS[1], 'partitions', ARGV[1])
redis.call('HSETNX', KEYS[1], 'layout', ARGV[2])
return redis.call('HMGET', KEYS[1], 'partitions', 'layout')
`;
