-- Delivery: the two steps around sending a person their reset link.
-- KEYS: 1 record hash, 2 audit, 3 user audit
-- ARGV: 1 op (start|done), 2 now ms, 3 delivery kind, 4 by,
--       5 audit cap, 6 user audit cap, 7 retention ms
-- start: only a pending record may be delivered to; marks delivering_at.
--        Returns 1, or 0 when the record is missing or not pending.
-- done:  counts the delivery, clears delivering_at, audits "delivered".
-- abort: clears delivering_at: the send certainly did not happen.
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'pending' and status ~= 'verifying' then
  return 0
end
if ARGV[1] == 'start' then
  redis.call('HSET', KEYS[1], 'delivering_at', ARGV[2], 'delivery', ARGV[3], 'updated_at', ARGV[2])
  return 1
elseif ARGV[1] == 'abort' then
  redis.call('HSET', KEYS[1], 'delivering_at', '', 'updated_at', ARGV[2])
  return 1
end
local n = redis.call('HINCRBY', KEYS[1], 'deliveries', 1)
redis.call('HSET', KEYS[1], 'delivered_at', ARGV[2], 'delivering_at', '', 'delivery', ARGV[3], 'updated_at', ARGV[2])
audit(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7], {
  'time', ARGV[2], 'user_id', redis.call('HGET', KEYS[1], 'user_id'), 'outcome', 'delivered',
  'by', ARGV[4], 'detail', ARGV[3] .. ' #' .. n})
return 1
