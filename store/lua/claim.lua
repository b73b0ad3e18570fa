-- Claim: take the verification lock (pending -> verifying) for one owner, a
-- job identity stable across retries and reclaims. The same owner may claim
-- again (a reclaimed job after a crash); anyone else is refused.
-- KEYS: 1 the user's record shard, 2 the user's record hash of the layouts
--       before
-- ARGV: 1 owner, 2 now ms, 3 user id, 4 the write layout (lua/record.lua)
-- Returns {-1} without a record, else {1 (held by owner) or 0 (refused),
-- the record packed (lua/record.lua)}.
-- The record is read in whichever layout it has (lua/record.lua) and the
-- checks below read the status, holder and expiry it held, in this script.
local rec = loadRecord(KEYS[1], KEYS[2], ARGV[3])
if not rec then
  return {-1}
end
local won = 0
local expires = tonumber(rec.x or '0') or 0
if rec.s == 'verifying' then
  if rec.h == ARGV[1] then won = 1 end
elseif rec.s == 'pending' and not (expires > 0 and expires <= tonumber(ARGV[2])) then
  rec.s, rec.h, rec.u = 'verifying', ARGV[1], ARGV[2]
  saveRecord(KEYS[1], KEYS[2], ARGV[3], rec)
  won = 1
end
return {won, packRecord(rec)}
