-- Finish: record a job's outcome durably and acknowledge it, atomically.
-- A job that is no longer pending in the group (finished by another worker
-- after a reclaim) is left alone: a second Finish changes nothing.
-- KEYS: 1 job stream, 2 the user's record shard, 3 the user's pending index
--       shard, 4 audit, 5 user audit, 6 the pending index of the layout
--       before shards, 7 the user's record hash of the layouts before
-- ARGV: 1 group, 2 job id, 3 effect (keep|verify|close), 4 outcome code,
--       5 owner, 6 now ms, 7 the encoded user id (the member in the index
--       of the layout before shards; a shard's member is the user id), 8 user id, 9 webhook id,
--       10 attempt, 11 deferrals in the job's episode, 12 last defer reason,
--       13 audit cap, 14 user audit cap, 15 retention ms (0 = keep; the trail's),
--       16 the write layout (lua/record.lua)
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])

-- The record is read in whichever layout it has (lua/record.lua): the
-- checks below read the status and holder it held, in this script.
local rec = loadRecord(KEYS[2], KEYS[7], ARGV[8])
local status, owner = rec and rec.s, rec and rec.h
local ours = status == 'verifying' and owner == ARGV[5]
local final = nil
if ARGV[3] == 'verify' and (status == 'pending' or status == 'verifying') then
  -- The flag is flipped: that is the truth whoever held the lock.
  final = 'verified'
elseif ARGV[3] == 'close' and (status == 'pending' or ours) then
  -- Never close a record another job is verifying right now.
  final = 'closed'
elseif ARGV[3] == 'keep' and ours then
  rec.s, rec.h, rec.u = 'pending', nil, ARGV[6]
  saveRecord(KEYS[2], KEYS[7], ARGV[8], rec)
end
if final then
  -- Kept the retention from now (updated_at), then the tidy pass deletes
  -- it (lua/tidy.lua): a hash field cannot expire on its own.
  rec.s, rec.o, rec.h, rec.u = final, ARGV[4], nil, ARGV[6]
  saveRecord(KEYS[2], KEYS[7], ARGV[8], rec)
  redis.call('ZREM', KEYS[3], ARGV[8])
  redis.call('ZREM', KEYS[6], ARGV[7])
end

audit(KEYS[4], KEYS[5], ARGV[13], ARGV[14], ARGV[15], endEpisode({
  'time', ARGV[6], 'user_id', ARGV[8], 'outcome', ARGV[4],
  'webhook_id', ARGV[9], 'job_id', ARGV[2], 'attempt', ARGV[10]}, ARGV[11], ARGV[12]))
return 1
