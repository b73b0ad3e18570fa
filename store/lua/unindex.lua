-- Unindex: remove the pending index entries a listing found stale (their
-- record ended, expired or vanished), each only if its record is still not
-- waiting when this runs: a record provisioned again between the listing's
-- read and this removal keeps its fresh entry, so it stays listed, counted
-- and swept.
-- KEYS: per entry 3: the index key it was read from, the user's record
--       shard, the user's record hash of the layouts before
-- ARGV: 1 now ms, then per entry 2: the member, the user id
-- Returns how many entries were removed.
local now = tonumber(ARGV[1])
local removed = 0
for i = 1, #KEYS, 3 do
  local a = 2 + (i - 1) / 3 * 2
  local member, user = ARGV[a], ARGV[a + 1]
  local rec = loadRecord(KEYS[i + 1], KEYS[i + 2], user)
  local expires = rec and tonumber(rec.x or '0') or 0
  local waiting = rec ~= nil and (rec.s == 'verifying' or
    (rec.s == 'pending' and not (expires > 0 and expires <= now)))
  if not waiting then
    removed = removed + redis.call('ZREM', KEYS[i], member)
  end
end
return removed
