/**
 * Redis scripts: each multi-key change is one atomic script. The header of each lists its keys,
 * arguments and return codes; the codes are mirrored in TypeScript next to it.
 */

/**
 * takeSnapshot
 *   KEYS[1] snapshot hash: field `seq` (number), field `body` (JSON {version, data})
 *   KEYS[2] journal stream (entry ids are `<seq>-1`)
 *   ARGV[1] snapshot seq
 *   ARGV[2] snapshot body JSON
 * Returns 1 stored (journal entries ≤ seq trimmed), 0 stale (a snapshot with seq ≥ ARGV[1] exists).
 */
export const TAKE_SNAPSHOT = `
local current = redis.call('HGET', KEYS[1], 'seq')
if current and tonumber(current) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'body', ARGV[2])
redis.call('XTRIM', KEYS[2], 'MINID', tostring(tonumber(ARGV[1]) + 1) .. '-0')
return 1
`;

export const TAKE_SNAPSHOT_STORED = 1;
export const TAKE_SNAPSHOT_STALE = 0;

/**
 * append — journal entries of one persistence key, idempotent so a retry after a lost
 * acknowledgement is safe.
 *   KEYS[1] journal stream (entry ids are `<seq>-1`, field `d` holds the JSON body)
 *   ARGV    seq1, body1, seq2, body2, … in increasing seq
 * Returns the number of entries appended (entries at or below the last stored seq are skipped).
 * Errors `TRIAGE_GAP <last> <seq>` when an entry would leave a gap after the last stored one.
 */
export const APPEND = `
local last = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
end
local appended = 0
for i = 1, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > last then
    if last > 0 and seq ~= last + 1 then return redis.error_reply('TRIAGE_GAP ' .. last .. ' ' .. seq) end
    redis.call('XADD', KEYS[1], seq .. '-1', 'd', ARGV[i + 1])
    last = seq
    appended = appended + 1
  end
end
return appended
`;
