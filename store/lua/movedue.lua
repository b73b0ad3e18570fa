-- MoveDue: move delayed jobs whose time has come back to the job stream.
-- Each member moves exactly once however many movers run at the same time.
-- A member that does not decode goes to the dead-letter stream rather than
-- blocking the mover forever. A job's deferral episode (deferrals,
-- defer_reason) travels with it; members parked before those fields existed
-- come back with none.
-- KEYS: 1 delayed set, 2 job stream, 3 dead-letter stream
-- ARGV: 1 now ms, 2 limit, 3 dead-letter cap
local due = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  local ok, j = pcall(cjson.decode, member)
  if ok and type(j) == 'table' then
    redis.call('XADD', KEYS[2], '*',
      'user_id', tostring(j.user_id or ''), 'webhook_id', tostring(j.webhook_id or ''),
      'payload_b64', tostring(j.payload_b64 or ''), 'attempt', tostring(j.attempt or '1'),
      'enqueued_at', tostring(j.enqueued_at or ARGV[1]),
      'last_error', tostring(j.last_error or ''),
      'deferrals', tostring(j.deferrals or '0'), 'defer_reason', tostring(j.defer_reason or ''))
  else
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*',
      'job_id', '', 'user_id', '', 'webhook_id', '', 'payload', member,
      'attempt', '0', 'enqueued_at', '0', 'last_error', 'undecodable delayed job',
      'failed_at', ARGV[1])
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
