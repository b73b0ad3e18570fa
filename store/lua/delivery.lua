-- Delivery: the two steps around sending a person their reset link.
-- KEYS: 1 the user's record shard, 2 audit, 3 user audit, 4 the user's
--       record hash of the layouts before
-- ARGV: 1 op (start|done), 2 now ms, 3 delivery kind, 4 by,
--       5 audit cap, 6 user audit cap, 7 retention ms, 8 user id, 9 the write
--       layout (lua/record.lua)
-- start: only a pending record may be delivered to; marks delivering_at.
--        Returns 1, or 0 when the record is missing or not pending.
-- done:  counts the delivery, clears delivering_at, audits "delivered".
-- abort: clears delivering_at: the send certainly did not happen.
-- The record is read in whichever layout it has (lua/record.lua): the check
-- below reads the status it held, in this script.
local rec = loadRecord(KEYS[1], KEYS[4], ARGV[8])
if not rec or (rec.s ~= 'pending' and rec.s ~= 'verifying') then
  return 0
end
if ARGV[1] == 'start' then
  rec.g, rec.d, rec.u = ARGV[2], ARGV[3], ARGV[2]
  saveRecord(KEYS[1], KEYS[4], ARGV[8], rec)
  return 1
elseif ARGV[1] == 'abort' then
  rec.g, rec.u = nil, ARGV[2]
  saveRecord(KEYS[1], KEYS[4], ARGV[8], rec)
  return 1
end
local n = (tonumber(rec.n or '0') or 0) + 1
rec.n, rec.t, rec.g, rec.d, rec.u = tostring(n), ARGV[2], nil, ARGV[3], ARGV[2]
if ARGV[3] == '' then rec.d = nil end
saveRecord(KEYS[1], KEYS[4], ARGV[8], rec)
audit(KEYS[2], KEYS[3], ARGV[5], ARGV[6], ARGV[7], {
  'time', ARGV[2], 'user_id', ARGV[8], 'outcome', 'delivered',
  'by', ARGV[4], 'detail', ARGV[3] .. ' #' .. n})
return 1
