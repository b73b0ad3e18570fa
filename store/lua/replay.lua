-- ReplayDLQ: put one dead letter back on the job stream as a fresh job
-- (attempt 1) and remove it from the dead-letter stream, atomically.
-- KEYS: 1 dead-letter stream, 2 job stream, 3 audit, 4 user audit
-- ARGV: 1 dead-letter entry id, 2 now ms, 3 audit cap, 4 user audit cap,
--       5 retention ms
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then
  return false
end
local f, m = e[1][2], {}
for i = 1, #f, 2 do m[f[i]] = f[i + 1] end
local user, webhook = m.user_id or '', m.webhook_id or ''
local id = redis.call('XADD', KEYS[2], '*',
  'user_id', user, 'webhook_id', webhook, 'payload', m.payload or '',
  'attempt', '1', 'enqueued_at', ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[1])
audit(KEYS[3], KEYS[4], ARGV[3], ARGV[4], ARGV[5], {
  'time', ARGV[2], 'user_id', user, 'outcome', 'replayed',
  'webhook_id', webhook, 'job_id', id, 'attempt', '1'})
return id
