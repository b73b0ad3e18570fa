-- DeletePending: remove a record, its index entry, and its email index entry if
-- that still names this user (another user may hold the address since).
-- KEYS: 1 record hash, 2 pending index, 3 email index key
-- ARGV: 1 index member (encoded user id), 2 user id
local n = redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('GET', KEYS[3]) == ARGV[2] then
  redis.call('DEL', KEYS[3])
end
return n
