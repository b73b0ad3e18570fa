-- PutPending: create or replace a pending record and index it.
-- KEYS: 1 record hash, 2 pending index, 3 email index key (the record by address)
-- ARGV: 1 index member (encoded user id), 2 user id, 3 email, 4 connection,
--       5 provisioned_at ms, 6 now ms, 7 expires_at ms (0 = never),
--       8 absolute key expiry ms (0 = none), 9 mode: replace, or create (only
--       when the user has no record in any status)
-- Returns 1 when written, 0 when create found a record.
if ARGV[9] == 'create' and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local created = redis.call('HGET', KEYS[1], 'created_at') or ARGV[6]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1],
  'user_id', ARGV[2], 'email', ARGV[3], 'connection', ARGV[4],
  'provisioned_at', ARGV[5], 'status', 'pending', 'outcome', '',
  'holder', '', 'created_at', created, 'updated_at', ARGV[6],
  'expires_at', ARGV[7])
redis.call('SET', KEYS[3], ARGV[2])
if ARGV[8] ~= '0' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[8])
  redis.call('PEXPIREAT', KEYS[3], ARGV[8])
end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
return 1
