-- Retry and Defer: acknowledge a job and park it in the delayed set,
-- atomically, so it is neither lost nor run twice. Retry counts the failed
-- attempt (next attempt = attempt + 1); Defer does not (next attempt =
-- attempt), because the job was only asked to wait: a 429, another event
-- holding the user's lock, a saturated budget.
-- The verification lock stays with the job: its owner is stable across
-- retries, so the retried job may claim again.
-- KEYS: 1 job stream, 2 delayed set, 3 audit, 4 user audit
-- ARGV: 1 group, 2 job id, 3 due ms, 4 user id, 5 webhook id, 6 payload
--       (base64: JSON strings are not binary-safe everywhere),
--       7 attempt that ran, 8 next attempt, 9 enqueued_at ms, 10 error,
--       11 now ms, 12 audit outcome (retry|deferred), 13 audit cap,
--       14 user audit cap, 15 retention ms
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
local job = cjson.encode({
  id = ARGV[2], user_id = ARGV[4], webhook_id = ARGV[5], payload_b64 = ARGV[6],
  attempt = ARGV[8], enqueued_at = ARGV[9], last_error = ARGV[10]})
redis.call('ZADD', KEYS[2], ARGV[3], job)
audit(KEYS[3], KEYS[4], ARGV[13], ARGV[14], ARGV[15], {
  'time', ARGV[11], 'user_id', ARGV[4], 'outcome', ARGV[12],
  'webhook_id', ARGV[5], 'job_id', ARGV[2], 'attempt', ARGV[7],
  'error', ARGV[10]})
return 1
