/**
 * Redis scripts: each multi-key change is one atomic script. The header of each lists its keys,
 * arguments and return codes; the codes are mirrored in TypeScript next to it.
 */

/**
 * takeSnapshot
 *   KEYS[1] snapshot hash: field `seq` (number), field `body` (JSON {version, data}); field `last`
 *           belongs to `append` and is left alone
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
 * Lua helper of the append scripts: `streamLast(key)`, the seq of the last entry ever added to a
 * journal stream (its last-generated id survives trimming), 0 when there is no stream.
 */
export const LAST_SEQ_LUA = `
local function streamLast(key)
  if redis.call('EXISTS', key) == 0 then return 0 end
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return tonumber(string.match(info[i + 1], '^(%d+)')) end
  end
  return 0
end
`;

/**
 * append — journal entries of one persistence key, idempotent so a retry after a lost
 * acknowledgement is safe, and all-or-nothing: a refused batch writes nothing.
 *   KEYS[1] journal stream (entry ids are `<seq>-1`, field `d` holds the JSON body)
 *   KEYS[2] snapshot hash; its field `last` is the journal's last stored seq
 *   ARGV    seq1, body1, seq2, body2, … in increasing seq
 * Returns the number of entries appended (entries at or below the last stored seq are skipped).
 * Errors `TRIAGE_GAP <last> <seq>` when an entry would leave a gap after the last stored one.
 *
 * The last seq is kept in the hash because XINFO STREAM, the other way to learn it, copies the
 * stream's first and last entry bodies into Lua on every call — most of an append's cost. The
 * stream stays the authority: when the field is missing (a journal from before it was kept) or the
 * batch does not follow it (an older version appended since), the stream is asked instead.
 */
/**
 * The body of `append`, shared with the fenced append of a cluster: where the journal and the
 * snapshot hash are, and at which ARGV index the seq/body pairs start.
 */
export function appendLua(journal: string, snapshot: string, firstArg: number, afterAppend = ''): string {
  return `
${LAST_SEQ_LUA}
local function gapAfter(last)
  for i = ${firstArg}, #ARGV, 2 do
    local seq = tonumber(ARGV[i])
    if seq > last then
      if last > 0 and seq ~= last + 1 then return 'TRIAGE_GAP ' .. last .. ' ' .. seq end
      last = seq
    end
  end
end
local last = tonumber(redis.call('HGET', ${snapshot}, 'last'))
if not last or gapAfter(last) then last = streamLast(${journal}) end
local gap = gapAfter(last)
if gap then return redis.error_reply(gap) end
local appended = 0
for i = ${firstArg}, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if seq > last then
    redis.call('XADD', ${journal}, seq .. '-1', 'd', ARGV[i + 1])
    last = seq
    appended = appended + 1
  end
end
if appended > 0 then redis.call('HSET', ${snapshot}, 'last', last) end
${afterAppend}
return appended
`;
}

export const APPEND = appendLua('KEYS[1]', 'KEYS[2]', 1);

/**
 * appendPacked — `append` for one key's run of consecutive entries sent as one body: one argument
 * holding every entry's JSON, one per line (JSON has no raw newline), instead of a seq and a body
 * per entry, so a pipeline has two arguments per key however many entries it carries. The stream
 * gets one XADD per entry, as `append` writes them: the journal reads the same whichever script
 * wrote it.
 *   KEYS[1] journal stream (entry ids are `<seq>-1`, field `d` holds the JSON body)
 *   KEYS[2] snapshot hash; its field `last` is the journal's last stored seq
 *   ARGV[1] seq of the first entry (the others follow it one by one)
 *   ARGV[2] the bodies, newline separated
 * Returns and errors as `append`.
 */
export const APPEND_PACKED = `
${LAST_SEQ_LUA}
local first = tonumber(ARGV[1])
local function gapAfter(last)
  if last > 0 and first > last + 1 then return 'TRIAGE_GAP ' .. last .. ' ' .. first end
end
local last = tonumber(redis.call('HGET', KEYS[2], 'last'))
if not last or gapAfter(last) then last = streamLast(KEYS[1]) end
local gap = gapAfter(last)
if gap then return redis.error_reply(gap) end
local bodies = ARGV[2]
local at = 1
local seq = first
local appended = 0
while true do
  local stop = string.find(bodies, '\\n', at, true)
  if seq > last then
    redis.call('XADD', KEYS[1], seq .. '-1', 'd', string.sub(bodies, at, (stop or 0) - 1))
    last = seq
    appended = appended + 1
  end
  if not stop then break end
  at = stop + 1
  seq = seq + 1
end
if appended > 0 then redis.call('HSET', KEYS[2], 'last', last) end
return appended
`;
