-- Tidy: delete the records of one shard whose end of life has passed. A
-- record is one field of a shared hash (lua/record.lua), and Redis 7.0
-- cannot expire a field, so this does what a key's TTL did for the layouts
-- before: a verified or closed record ends the retention after it was
-- finished (updated_at), a pending or verifying one the retention after its
-- expires_at; one without an expiry, or any record with no retention (keep
-- forever), never ends. The condition is read from each record inside the
-- script, so a record written again meanwhile (put back pending by a new
-- provisioning) is judged as it is now, never deleted on an old reading.
-- KEYS: 1 a record shard, 2 the pending index shard of the same users
-- ARGV: 1 now ms, 2 retention ms (0 = keep forever)
-- Returns the number of records deleted. Their index entries (left by
-- records that expired while pending) go in the same script: a record put
-- again meanwhile, and indexed again, is never unindexed by a late ZREM.
local now, retention = tonumber(ARGV[1]), tonumber(ARGV[2])
local gone = {}
if retention <= 0 then
  return 0
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local rec = unpackRecord(all[i + 1])
  local base = nil
  if rec.s == 'verified' or rec.s == 'closed' then
    base = rec.u or rec.a or rec.p
  elseif rec.x then
    base = rec.x
  end
  if base and tonumber(base) + retention <= now then
    gone[#gone + 1] = all[i]
  end
end
-- In chunks: unpack takes a few thousand values at most.
for i = 1, #gone, 1000 do
  local chunk = {unpack(gone, i, math.min(i + 999, #gone))}
  redis.call('HDEL', KEYS[1], unpack(chunk))
  redis.call('ZREM', KEYS[2], unpack(chunk))
end
return #gone
