-- Finish: record a job's outcome durably and acknowledge it, atomically.
-- A job that is no longer pending in the group (finished by another worker
-- after a reclaim) is left alone: a second Finish changes nothing.
-- KEYS: 1 job stream, 2 record hash, 3 the user's pending index shard,
--       4 audit, 5 user audit, 6 the pending index of the layout before shards
-- ARGV: 1 group, 2 job id, 3 effect (keep|verify|close), 4 outcome code,
--       5 owner, 6 now ms, 7 index member, 8 user id, 9 webhook id,
--       10 attempt, 11 deferrals in the job's episode, 12 last defer reason,
--       13 audit cap, 14 user audit cap, 15 retention ms (0 = keep)
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])

-- A long-layout record is upgraded first (lua/record.lua): the checks below
-- read the same status and holder it held, in the same script.
upgrade(KEYS[2])
local rec = redis.call('HMGET', KEYS[2], 's', 'h')
local status, owner = rec[1], rec[2]
local ours = status == 'verifying' and owner == ARGV[5]
local final = nil
if ARGV[3] == 'verify' and (status == 'pending' or status == 'verifying') then
  -- The flag is flipped: that is the truth whoever held the lock.
  final = 'verified'
elseif ARGV[3] == 'close' and (status == 'pending' or ours) then
  -- Never close a record another job is verifying right now.
  final = 'closed'
elseif ARGV[3] == 'keep' and ours then
  setOrClear(KEYS[2], 's', 'pending', 'h', '', 'u', ARGV[6])
end
if final then
  setOrClear(KEYS[2], 's', final, 'o', ARGV[4], 'h', '', 'u', ARGV[6])
  redis.call('ZREM', KEYS[3], ARGV[7])
  redis.call('ZREM', KEYS[6], ARGV[7])
  if ARGV[15] ~= '0' then
    redis.call('PEXPIRE', KEYS[2], ARGV[15])
  else
    redis.call('PERSIST', KEYS[2])
  end
end

audit(KEYS[4], KEYS[5], ARGV[13], ARGV[14], ARGV[15], endEpisode({
  'time', ARGV[6], 'user_id', ARGV[8], 'outcome', ARGV[4],
  'webhook_id', ARGV[9], 'job_id', ARGV[2], 'attempt', ARGV[10]}, ARGV[11], ARGV[12]))
return 1
