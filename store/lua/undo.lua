-- Undo: the durable list of flips to take back (see undo.go). One hash,
-- field = encoded user id, value = the undo as JSON (cjson).
-- KEYS: 1 undo hash, 2 audit, 3 user audit (2 and 3 only for 'done')
-- ARGV: 1 op, then per op:
--   schedule: 2 field, 3 undo JSON            -> the entry's generation
--             (an entry already there is kept, with a new generation, the earlier
--             due time, and check cleared when the new one is a plain undo: a
--             replica still working on the old generation cannot delete it)
--   take:     2 now ms, 3 lease ms, 4 limit   -> the due undos as JSON, each leased
--   fail:     2 field, 3 next ms, 4 error     -> 1 if still there
--   done:     2 field, 3 now ms, 4 result, 5 audit outcome, 6 audit cap,
--             7 user audit cap, 8 retention ms, 9 generation
--             -> 1 if that generation was there (and audited), else 0
local op = ARGV[1]
if op == 'schedule' then
  local new = cjson.decode(ARGV[3])
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if v then
    local old = cjson.decode(v)
    old.gen = (tonumber(old.gen) or 0) + 1
    old.next_at = math.min(tonumber(old.next_at), tonumber(new.next_at))
    if not new.check then
      old.check = false
    end
    redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(old))
    return old.gen
  end
  new.gen = 1
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(new))
  return 1
elseif op == 'take' then
  local now, lease, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
  local all = redis.call('HGETALL', KEYS[1])
  local out = {}
  for i = 1, #all, 2 do
    local u = cjson.decode(all[i + 1])
    if tonumber(u.next_at) <= now and #out < limit then
      -- Leased, so the replicas polling this hash take turns instead of
      -- all calling Auth0 for the same user.
      u.attempts = tonumber(u.attempts) + 1
      u.next_at = now + lease
      local v = cjson.encode(u)
      redis.call('HSET', KEYS[1], all[i], v)
      out[#out + 1] = v
    end
  end
  return out
elseif op == 'fail' then
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if not v then
    return 0
  end
  local u = cjson.decode(v)
  u.next_at = tonumber(ARGV[3])
  u.last_error = ARGV[4]
  redis.call('HSET', KEYS[1], ARGV[2], cjson.encode(u))
  return 1
elseif op == 'done' then
  local v = redis.call('HGET', KEYS[1], ARGV[2])
  if not v then
    return 0
  end
  local u = cjson.decode(v)
  if (tonumber(u.gen) or 1) ~= tonumber(ARGV[9]) then
    return 0
  end
  redis.call('HDEL', KEYS[1], ARGV[2])
  audit(KEYS[2], KEYS[3], ARGV[6], ARGV[7], ARGV[8], {
    'time', ARGV[3], 'user_id', u.user_id, 'outcome', ARGV[5],
    'webhook_id', u.webhook_id, 'job_id', u.job_id, 'attempt', tostring(u.attempts),
    'error', ARGV[4]})
  return 1
end
return redis.error_reply('undo: unknown op ' .. tostring(op))
