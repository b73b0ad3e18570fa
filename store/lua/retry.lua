-- Retry and Defer: acknowledge a job and park it in the delayed set,
-- atomically, so it is neither lost nor run twice. Retry counts the failed
-- attempt (next attempt = attempt + 1); Defer does not (next attempt =
-- attempt), because the job was only asked to wait: a 429, another event
-- holding the user's lock, a saturated budget.
-- A run of deferrals is one episode in the audit trail: its first Defer
-- writes the "deferred" entry, later ones only count in the parked job
-- (deferrals, defer_reason), and a Retry ends it: its entry carries the
-- count and the last reason, and the job is parked with a new count of 0.
-- The verification lock stays with the job: its owner is stable across
-- retries, so the retried job may claim again.
-- KEYS: 1 job stream, 2 delayed set, 3 audit, 4 user audit
-- ARGV: 1 group, 2 job id, 3 due ms, 4 user id, 5 webhook id, 6 payload
--       (base64: JSON strings are not binary-safe everywhere),
--       7 attempt that ran, 8 next attempt, 9 enqueued_at ms, 10 error,
--       11 now ms, 12 audit outcome (retry|deferred), 13 deferrals in the
--       job's episode so far, 14 defer reason (Defer: this deferral's;
--       Retry: the episode's last), 15 audit cap, 16 user audit cap,
--       17 retention ms
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
local deferrals = tonumber(ARGV[13]) or 0
local entry = {
  'time', ARGV[11], 'user_id', ARGV[4], 'outcome', ARGV[12],
  'webhook_id', ARGV[5], 'job_id', ARGV[2], 'attempt', ARGV[7],
  'error', ARGV[10]}
local parked, reason = 0, ''
if ARGV[12] == 'deferred' then
  parked, reason = deferrals + 1, ARGV[14]
  if deferrals == 0 then
    entry[#entry + 1] = 'defer_reason'
    entry[#entry + 1] = reason
  else
    entry = nil -- the episode's entry is already written
  end
else
  endEpisode(entry, deferrals, ARGV[14])
end
local job = cjson.encode({
  id = ARGV[2], user_id = ARGV[4], webhook_id = ARGV[5], payload_b64 = ARGV[6],
  attempt = ARGV[8], enqueued_at = ARGV[9], last_error = ARGV[10],
  deferrals = tostring(parked), defer_reason = reason})
redis.call('ZADD', KEYS[2], ARGV[3], job)
if entry then
  audit(KEYS[3], KEYS[4], ARGV[15], ARGV[16], ARGV[17], entry)
end
return 1
