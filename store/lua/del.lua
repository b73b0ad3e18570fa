-- DeletePending: remove a record, its index entry, and its email index
-- entries that still name this user (another user may hold the address
-- since).
-- KEYS: 1 the user's record shard, 2 the user's pending index shard, 3 the
--       pending index of the layout before shards, 4 email index key of the
--       layout before shards, 5 the user's record hash of the layouts
--       before, then the address's email index hash of each week
-- ARGV: 1 encoded user id (the member in the index of the layout before
--       shards; a shard's member is the user id), 2 user id, 3 the address's
--       fingerprint
local n = redis.call('HDEL', KEYS[1], ARGV[2]) + redis.call('DEL', KEYS[5])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[4]) == ARGV[2] then
  redis.call('DEL', KEYS[4])
end
for i = 6, #KEYS do
  if redis.call('HGET', KEYS[i], ARGV[3]) == ARGV[2] then
    redis.call('HDEL', KEYS[i], ARGV[3])
  end
end
-- 1 when there was a record (in one layout, or, after a mix of releases
-- wrote both, in two).
if n > 0 then return 1 end
return 0
