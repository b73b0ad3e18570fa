-- Delivery: the two steps around sending a person their reset link.
-- KEYS: 1 record hash, 2 audit, 3 user audit
-- ARGV: 1 op (start|done), 2 now ms, 3 delivery kind, 4 by,
--       5 audit cap, 6 user audit cap, 7 retention ms, 8 user id
-- start: only a pending record may be delivered to; marks delivering_at.
--        Returns 1, or 0 when the record is missing or not pending.
-- done:  counts the delivery, clears delivering_at, audits "delivered".
-- abort: clears delivering_at: the send certainly did not happen.
-- A long-layout record is upgraded first (lua/record.lua): the check below
-- reads the same status it held, in the same script.
upgrade(KEYS[1])
local status = redis.call('HGET', KEYS[1], 's')
if status ~= 'pending' and status ~= 'verifying' then
  return 0
end
if ARGV[1] == 'start' then
  setOrClear(KEYS[1], 'g', ARGV[2], 'd', ARGV[3], 'u', ARGV[2])
  return 1
elseif ARGV[1] == 'abort' then
  setOrClear(KEYS[1], 'g', '', 'u', ARGV[2])
  return 1
end
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
setOrClear(KEYS[1], 't', ARGV[2], 'g', '', 'd', ARGV[3], 'u', ARGV[2])
audit(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7], {
  'time', ARGV[2], 'user_id', ARGV[8], 'outcome', 'delivered',
  'by', ARGV[4], 'detail', ARGV[3] .. ' #' .. n})
return 1
