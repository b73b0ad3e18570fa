-- DeadLetter: acknowledge a job that exhausted its retries, keep it in the
-- capped dead-letter stream with its last error, release the verification
-- lock it may hold (so later logins and the sweep can still verify the user)
-- and audit, atomically.
-- KEYS: 1 job stream, 2 dead-letter stream, 3 the user's record shard,
--       4 audit, 5 user audit, 6 the user's record hash of the layouts before
-- ARGV: 1 group, 2 job id, 3 user id, 4 webhook id, 5 payload, 6 attempt,
--       7 enqueued_at ms, 8 error, 9 now ms, 10 owner, 11 dead-letter cap,
--       12 deferrals in the job's episode, 13 last defer reason, 14 audit
--       cap, 15 user audit cap, 16 retention ms, 17 the write layout
--       (lua/record.lua)
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[11], '*',
  'job_id', ARGV[2], 'user_id', ARGV[3], 'webhook_id', ARGV[4],
  'payload', ARGV[5], 'attempt', ARGV[6], 'enqueued_at', ARGV[7],
  'last_error', ARGV[8], 'failed_at', ARGV[9])
-- The record is read in whichever layout it has (lua/record.lua): the check
-- below reads the status and holder it held, in this script.
local rec = loadRecord(KEYS[3], KEYS[6], ARGV[3])
if rec and rec.s == 'verifying' and rec.h == ARGV[10] then
  rec.s, rec.h, rec.u = 'pending', nil, ARGV[9]
  saveRecord(KEYS[3], KEYS[6], ARGV[3], rec)
end
audit(KEYS[4], KEYS[5], ARGV[14], ARGV[15], ARGV[16], endEpisode({
  'time', ARGV[9], 'user_id', ARGV[3], 'outcome', 'dead_letter',
  'webhook_id', ARGV[4], 'job_id', ARGV[2], 'attempt', ARGV[6],
  'error', ARGV[8]}, ARGV[12], ARGV[13]))
return 1
