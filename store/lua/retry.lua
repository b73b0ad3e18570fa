-- Retry: acknowledge a failed job and park it in the delayed set with the
-- next attempt number, atomically, so it is neither lost nor run twice.
-- The verification lock stays with the job: its owner is stable across
-- retries, so the retried job may claim again.
-- KEYS: 1 job stream, 2 delayed set, 3 audit, 4 user audit
-- ARGV: 1 group, 2 job id, 3 due ms, 4 user id, 5 webhook id, 6 payload
--       (base64: JSON strings are not binary-safe everywhere),
--       7 attempt that failed, 8 enqueued_at ms, 9 error, 10 now ms,
--       11 audit cap, 12 user audit cap, 13 retention ms
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
local job = cjson.encode({
  id = ARGV[2], user_id = ARGV[4], webhook_id = ARGV[5], payload_b64 = ARGV[6],
  attempt = tostring(tonumber(ARGV[7]) + 1), enqueued_at = ARGV[8],
  last_error = ARGV[9]})
redis.call('ZADD', KEYS[2], ARGV[3], job)
audit(KEYS[3], KEYS[4], ARGV[11], ARGV[12], ARGV[13], {
  'time', ARGV[10], 'user_id', ARGV[4], 'outcome', 'retry',
  'webhook_id', ARGV[5], 'job_id', ARGV[2], 'attempt', ARGV[7],
  'error', ARGV[9]})
return 1
