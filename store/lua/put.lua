-- PutPending: create or replace a pending record and index it.
-- The record is written packed in its shard (lua/record.lua); a record of a
-- layout before being replaced is deleted by saveRecord like any other.
-- KEYS: 1 the user's record shard, 2 the user's pending index shard, 3 email
--       index hash (this address's shard for the week the record's end of
--       life falls in), 4 the email index weeks, 5 the address's email index
--       key of the layout before shards, 6 the pending index of the layout
--       before shards, 7 the user's record hash of the layouts before
-- ARGV: 1 index member (encoded user id), 2 user id, 3 email, 4 connection,
--       5 provisioned_at ms, 6 now ms, 7 expires_at ms (0 = never),
--       8 unused, 9 mode: replace, or create (only when the user has no
--       record in any status), 10 the address's fingerprint, 11 the email
--       index week (0 = never expires), 12 that week's end ms (0 = never),
--       13 the current week, 14 the write layout (lua/record.lua)
-- Returns 1 when written, 0 when create found a record.
if ARGV[9] == 'create' and recordExists(KEYS[1], KEYS[7], ARGV[2]) then
  return 0
end
local old = loadRecord(KEYS[1], KEYS[7], ARGV[2])
local created = (old and (old.a or old.p)) or ARGV[6]
local rec = {s = 'pending', p = ARGV[5], a = created, u = ARGV[6]}
if ARGV[3] ~= '' then rec.e = ARGV[3] end
if ARGV[4] ~= defaultConnection then rec.c = ARGV[4] end
if ARGV[7] ~= '0' then rec.x = ARGV[7] end
-- Its end of life, when it has one (expires_at plus the retention), is
-- the tidy pass's to act on (lua/tidy.lua): a hash field cannot expire.
saveRecord(KEYS[1], KEYS[7], ARGV[2], rec)
-- Indexed once: in its shard (member the user id), or, while records are
-- written in the hash layout, in the one index of the release before
-- (member the encoded user id), which is what its replicas read.
if hashWrites then
  redis.call('ZADD', KEYS[6], ARGV[5], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[2])
  redis.call('ZREM', KEYS[6], ARGV[1])
end

-- The email index: field = the address's fingerprint, value = the user id,
-- in a hash shared by the addresses of one shard whose records' ends of life
-- fall in the same week. The hash expires at that week's end, so an entry
-- lives at least as long as the record it was written with and at most a
-- week longer. FindByEmail checks the record it finds holds the address, so an
-- entry outliving its record, or naming another user whose address shares
-- the fingerprint, finds nothing rather than the wrong user.
redis.call('HSET', KEYS[3], ARGV[10], ARGV[2])
if ARGV[12] ~= '0' and redis.call('PEXPIRETIME', KEYS[3]) < 0 then
  redis.call('PEXPIREAT', KEYS[3], ARGV[12])
end
-- The weeks that may hold entries, for FindByEmail; a past week's hash is
-- gone, so its entry is dropped (week 0, never expiring, stays).
redis.call('ZADD', KEYS[4], ARGV[11], ARGV[11])
redis.call('ZREMRANGEBYSCORE', KEYS[4], 1, '(' .. ARGV[13])
-- The address's key of the layout before shards, if it names this user, is
-- superseded by the entry just written.
if redis.call('GET', KEYS[5]) == ARGV[2] then
  redis.call('DEL', KEYS[5])
end
return 1
