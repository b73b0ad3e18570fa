-- PutPending: create or replace a pending record and index it.
-- The record is written in the compact layout (lua/record.lua); a record of
-- the long layout being replaced is deleted first like any other.
-- KEYS: 1 record hash, 2 the user's pending index shard, 3 email index hash
--       (this address's shard for the week the record's key expires in),
--       4 the email index weeks, 5 the address's email index key of the
--       layout before shards, 6 the pending index of the layout before shards
-- ARGV: 1 index member (encoded user id), 2 user id, 3 email, 4 connection,
--       5 provisioned_at ms, 6 now ms, 7 expires_at ms (0 = never),
--       8 absolute key expiry ms (0 = none), 9 mode: replace, or create (only
--       when the user has no record in any status), 10 the address's
--       fingerprint, 11 the email index week (0 = never expires), 12 that
--       week's end ms (0 = never), 13 the current week
-- Returns 1 when written, 0 when create found a record.
if ARGV[9] == 'create' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local old = redis.call('HMGET', KEYS[1], 'a', 'p', 'created_at')
local created = old[1] or old[2] or old[3] or ARGV[6]
redis.call('DEL', KEYS[1])
local rec = {'s', 'pending', 'p', ARGV[5]}
local function add(k, v)
  rec[#rec + 1] = k
  rec[#rec + 1] = v
end
if ARGV[3] ~= '' then add('e', ARGV[3]) end
-- The default connection is implied by no 'c' (lua/record.lua).
if ARGV[4] ~= 'Username-Password-Authentication' then add('c', ARGV[4]) end
if ARGV[7] ~= '0' then add('x', ARGV[7]) end
if created ~= ARGV[5] then add('a', created) end
if ARGV[6] ~= created then add('u', ARGV[6]) end
redis.call('HSET', KEYS[1], unpack(rec))
if ARGV[8] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[8])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
-- Listed once: the entry of the layout before moves to the shard.
redis.call('ZREM', KEYS[6], ARGV[1])

-- The email index: field = the address's fingerprint, value = the user id,
-- in a hash shared by the addresses of one shard whose records' keys expire
-- in the same week. The hash expires at that week's end, so an entry lives
-- at least as long as the record key it was written with and at most a week
-- longer. FindByEmail checks the record it finds holds the address, so an
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
