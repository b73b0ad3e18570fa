-- Ingest: the webhook receiver's write. For each event the replay mark and
-- the enqueue happen together or not at all, so a crash can neither lose an
-- event (marked but not queued) nor double it (queued twice). One call takes
-- a whole batch of events: Redis pays the script call once per batch, not
-- once per event, and the batch runs as one atomic unit.
-- KEYS: 1 job stream, then per event i (from 0): 2+2i replay mark, 3+2i
--       record hash
-- ARGV: 1 now ms (one clock reading for the batch), then per event i:
--       2+4i replay ttl ms, 3+4i user id, 4+4i webhook id, 5+4i payload
-- Returns two entries per event: a status and the job id ('' unless queued),
-- or 'error' and the Redis error for that event alone (a key of the wrong
-- type); the other events of the batch are unaffected.
local out = {}
local now = ARGV[1]
local nowMS = tonumber(now)
local function ingest(replay, record, ttl, user, webhook, payload)
  -- Read first: an error here must leave no replay mark behind.
  local rec = redis.pcall('HMGET', record, 'status', 'expires_at')
  if rec.err then
    return 'error', rec.err
  end
  local set = redis.pcall('SET', replay, now, 'NX', 'PX', ttl)
  if type(set) == 'table' and set.err then
    return 'error', set.err
  elseif not set then
    return 'duplicate', ''
  end
  local expires = tonumber(rec[2] or '0') or 0
  -- A record another event is verifying still takes this one: if that event
  -- ends without a flip (dead letter), this login is the proof left to act on.
  local waiting = rec[1] == 'pending' and not (expires > 0 and expires <= nowMS)
  if not waiting and rec[1] ~= 'verifying' then
    return 'not_pending', ''
  end
  local id = redis.pcall('XADD', KEYS[1], '*',
    'user_id', user, 'webhook_id', webhook, 'payload', payload,
    'attempt', '1', 'enqueued_at', now)
  if type(id) == 'table' and id.err then
    -- Not queued, so not seen: a redelivery must get its chance.
    redis.call('DEL', replay)
    return 'error', id.err
  end
  return 'queued', id
end
for i = 0, (#ARGV - 1) / 4 - 1 do
  local a = 1 + 4 * i
  local status, detail = ingest(KEYS[2 + 2 * i], KEYS[3 + 2 * i],
    ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
  out[#out + 1] = status
  out[#out + 1] = detail
end
return out
