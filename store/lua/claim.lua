-- Claim: take the verification lock (pending -> verifying) for one owner, a
-- job identity stable across retries and reclaims. The same owner may claim
-- again (a reclaimed job after a crash); anyone else is refused.
-- KEYS: 1 record hash
-- ARGV: 1 owner, 2 now ms
-- Returns {-1} without a record, else {1 (held by owner) or 0 (refused),
-- then the record as HGETALL gives it (compact layout)}.
-- A long-layout record is upgraded first (lua/record.lua): the checks below
-- read the same status, holder and expiry it held, in the same script.
upgrade(KEYS[1])
local rec = redis.call('HMGET', KEYS[1], 's', 'h', 'x')
if not rec[1] then
  return {-1}
end
local won = 0
local expires = tonumber(rec[3] or '0') or 0
if rec[1] == 'verifying' then
  if rec[2] == ARGV[1] then won = 1 end
elseif rec[1] == 'pending' and not (expires > 0 and expires <= tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 's', 'verifying', 'h', ARGV[1], 'u', ARGV[2])
  won = 1
end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, won)
return out
