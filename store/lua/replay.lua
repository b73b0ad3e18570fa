-- ReplayDLQ: put one dead letter back on the job stream as a fresh job
-- (attempt 1) and remove it from the dead-letter stream, atomically.
-- Idempotent for a while: the new job id is kept under the dead letter's id,
-- so a second run (go-redis re-sending the script after a reply timeout, an
-- operator running the command again) returns the same job instead of
-- "not found" or a second copy.
-- KEYS: 1 dead-letter stream, 2 job stream, 3 audit, 4 user audit,
--       5 replayed mark
-- ARGV: 1 dead-letter entry id, 2 now ms, 3 mark ttl ms, 4 audit cap,
--       5 user audit cap, 6 retention ms
-- Returns the new job id, false when there is no such dead letter, or
-- {err} for an entry without a user id (it could never be acknowledged).
local done = redis.call('GET', KEYS[5])
if done then
  return done
end
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
  return false
end
local f, m = e[1][2], {}
for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
local user, webhook = m.user_id or '', m.webhook_id or ''
if user == '' then
  return redis.error_reply('NOUSER dead letter has no user id')
end
local id = redis.call('XADD', KEYS[2], '*',
  'user_id', user, 'webhook_id', webhook, 'payload', m.payload or '',
  'attempt', '1', 'enqueued_at', ARGV[2])
redis.call('SET', KEYS[5], id, 'PX', ARGV[3])
redis.call('XDEL', KEYS[1], ARGV[1])
audit(KEYS[3], KEYS[4], ARGV[4], ARGV[5], ARGV[6], {
  'time', ARGV[2], 'user_id', user, 'outcome', 'replayed',
  'webhook_id', webhook, 'job_id', id, 'attempt', '1'})
return id
