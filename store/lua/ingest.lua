-- Ingest: the webhook receiver's one round trip. The replay mark and the
-- enqueue happen together or not at all, so a crash can neither lose an
-- event (marked but not queued) nor double it (queued twice).
-- KEYS: 1 replay mark, 2 record hash, 3 job stream
-- ARGV: 1 replay ttl ms, 2 user id, 3 webhook id, 4 payload, 5 now ms
if not redis.call('SET', KEYS[1], ARGV[5], 'NX', 'PX', ARGV[1]) then
  return {'duplicate', ''}
end
local rec = redis.call('HMGET', KEYS[2], 'status', 'expires_at')
local expires = tonumber(rec[2] or '0') or 0
-- A record another event is verifying still takes this one: if that event
-- ends without a flip (dead letter), this login is the proof left to act on.
local waiting = rec[1] == 'pending' and not (expires > 0 and expires <= tonumber(ARGV[5]))
if not waiting and rec[1] ~= 'verifying' then
  return {'not_pending', ''}
end
local id = redis.call('XADD', KEYS[3], '*',
  'user_id', ARGV[2], 'webhook_id', ARGV[3], 'payload', ARGV[4],
  'attempt', '1', 'enqueued_at', ARGV[5])
return {'queued', id}
