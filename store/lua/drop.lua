-- Drop: acknowledge and delete a job that can never be processed (no user
-- id: nothing to claim, finish or dead-letter against) and note it in the
-- global audit stream, atomically; without this it would be reclaimed
-- forever. A job already acknowledged is left alone.
-- KEYS: 1 job stream, 2 audit
-- ARGV: 1 group, 2 job id, 3 webhook id, 4 attempt, 5 reason, 6 now ms,
--       7 audit cap
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*',
  'time', ARGV[6], 'user_id', '', 'outcome', 'malformed_job',
  'webhook_id', ARGV[3], 'job_id', ARGV[2], 'attempt', ARGV[4],
  'error', ARGV[5])
return 1
