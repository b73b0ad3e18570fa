-- Ingest: the webhook receiver's write. For each event the replay mark and
-- the enqueue happen together or not at all, so a crash can neither lose an
-- event (marked but not queued) nor double it (queued twice). One call takes
-- a whole batch of events: Redis pays the script call once per batch, not
-- once per event, and the batch runs as one atomic unit.
-- A replay mark is the webhook id's fingerprint in the set of its shard for
-- the time window it was first seen in (see keys.go); an event is a replay
-- when its fingerprint is in any window its TTL still covers, or when it has
-- a mark of the layout before the sets (one key per webhook id, kept until
-- its own TTL ends after an upgrade).
-- Why a redelivery within the TTL is always caught: the first delivery's
-- mark sits in the set of the window holding its time t, and that set
-- expires at the window's end plus the TTL, after t + TTL. A redelivery at
-- t' <= t + TTL looks in every window from the one holding t' - TTL, which
-- is no later than t's, to its own: t's window is among them. Two
-- deliveries in one batch: the first adds its mark before the second looks.
-- Two batches at once: each script runs alone. A delivery after the TTL is
-- refused by the signature's timestamp check before it gets here.
-- KEYS: 1 job stream, then per event: the user's record shard, the user's
--       record hash of the layouts before, the old-layout mark, and n
--       window sets of the event's shard, oldest first, the last
--       being the current window
-- ARGV: 1 now ms (one clock reading for the batch), then per event (6
--       each): expiry of the current window's set (ms, absolute: the end
--       of the window plus the replay TTL), user id, webhook id, payload,
--       fingerprint (a 64-bit integer), n
-- Returns two entries per event: a status and the job id ('' unless queued),
-- or 'error' and the Redis error for that event alone (a key of the wrong
-- type); the other events of the batch are unaffected.
local out = {}
local now = ARGV[1]
local nowMS = tonumber(now)
local expiry = {} -- the expiry set on each window set in this call
local function failed(r)
  return type(r) == 'table' and r.err
end
local function ingest(shard, record, oldMark, sets, expireAt, user, webhook, payload, print)
  -- Read first: an error here must leave no replay mark behind.
  -- Every record layout (lua/record.lua) is read, none rewritten: this is
  -- the hot path, and it writes no record. The packed field wins (saveRecord
  -- deletes the hash of a layout before as it writes one), and a hash has
  -- 's' exactly when it is compact, so status and expiry come from one
  -- layout, never a mix.
  local packed = redis.pcall('HGET', shard, user)
  if failed(packed) then
    return 'error', packed.err
  end
  local rec
  if packed then
    local r = unpackRecord(packed)
    rec = {r.s, r.x}
  else
    rec = redis.pcall('HMGET', record, 's', 'x', 'status', 'expires_at')
    if rec.err then
      return 'error', rec.err
    end
    if not rec[1] then
      rec = {rec[3], rec[4]}
    end
  end
  if redis.call('EXISTS', oldMark) == 1 then
    return 'duplicate', ''
  end
  for i = 1, #sets do
    local seen = redis.pcall('SISMEMBER', sets[i], print)
    if failed(seen) then
      return 'error', seen.err
    elseif seen == 1 then
      return 'duplicate', ''
    end
  end
  local cur = sets[#sets]
  local added = redis.pcall('SADD', cur, print)
  if failed(added) then
    return 'error', added.err
  end
  -- The set lives until the latest expiry any of its marks needs.
  local at = tonumber(expireAt)
  if (expiry[cur] or 0) < at then
    local current = redis.call('PEXPIRETIME', cur)
    if current < at then
      redis.call('PEXPIREAT', cur, expireAt)
    end
    expiry[cur] = math.max(current, at)
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
  if failed(id) then
    -- Not queued, so not seen: a redelivery must get its chance.
    redis.call('SREM', cur, print)
    return 'error', id.err
  end
  return 'queued', id
end
local k = 2
for a = 2, #ARGV, 6 do
  local n = tonumber(ARGV[a + 5])
  local sets = {}
  for i = 1, n do
    sets[i] = KEYS[k + 2 + i]
  end
  local status, detail = ingest(KEYS[k], KEYS[k + 1], KEYS[k + 2], sets,
    ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
  k = k + 3 + n
  out[#out + 1] = status
  out[#out + 1] = detail
end
return out
