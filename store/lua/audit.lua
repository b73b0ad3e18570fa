-- Shared prelude: prepended to every script that records a decision.
--
-- audit appends one entry (a flat field/value list, user_id among them) to
-- the global audit stream, trimmed to about maxAll entries, and to the
-- user's trail: one field (the user id) of kUser, a hash shared by the users
-- of one shard for one day (mp:{mp}:trail:<day>:<shard>). The field holds
-- that day's entries for the user, oldest first, trimmed to the last
-- maxUser; each is the global entry's id and its fields but user_id, in
-- trailFields order, compacted (see encodeTrailEntry). The hash expires
-- the retention after its day ends, so every entry is kept at least the
-- retention; day 0 (no retention) never expires.
-- The field is read, extended and written inside the script, so two
-- decisions about one user at once (two workers, a worker and an operator)
-- both land: scripts run one at a time.
local trailFields = {'time', 'outcome', 'webhook_id', 'job_id', 'attempt',
  'error', 'defer_reason', 'deferrals', 'by', 'detail'}

-- b36 writes a whole number up to 2^53 in base 36: a millisecond time in 8
-- characters instead of 13.
local function b36(n)
  local digits, out = '0123456789abcdefghijklmnopqrstuvwxyz', ''
  n = math.floor(n)
  if n <= 0 then return '0' end
  while n > 0 do
    local d = n % 36
    out = string.sub(digits, d + 1, d + 1) .. out
    n = (n - d) / 36
  end
  return out
end

-- streamID compacts a stream id ms-seq to b36(ms), then -seq unless seq is
-- 0; anything else is kept whole behind '='.
local function streamID(s)
  local t, seq = string.match(s, '^(%d+)-(%d+)$')
  if not t or #t > 15 then
    return '=' .. s
  end
  if seq == '0' then
    return b36(tonumber(t))
  end
  return b36(tonumber(t)) .. '-' .. seq
end

-- encodeTrailEntry: fields joined by \31, empty ones at the end left out.
-- The separators \30 (between entries) and \31 inside a value become
-- spaces: they only ever reach an error text or a detail by accident.
local function encodeTrailEntry(id, m)
  local parts = {streamID(id)}
  for _, k in ipairs(trailFields) do
    local v = m[k] or ''
    if v ~= '' then
      if k == 'time' then
        v = b36(tonumber(v) or 0)
      elseif k == 'job_id' then
        v = streamID(v)
      else
        v = string.gsub(v, '[\30\31]', ' ')
      end
    end
    parts[#parts + 1] = v
  end
  local e = table.concat(parts, '\31')
  return (string.gsub(e, '\31+$', ''))
end

local function audit(kAll, kUser, maxAll, maxUser, retention, fields)
  local id = redis.call('XADD', kAll, 'MAXLEN', '~', maxAll, '*', unpack(fields))
  local m = {}
  for i = 1, #fields, 2 do m[fields[i]] = fields[i + 1] end
  local user = m.user_id or ''
  local v = encodeTrailEntry(id, m)
  local old = redis.call('HGET', kUser, user)
  if old then
    v = old .. '\30' .. v
    -- An entry takes at least 16 bytes (its id and time alone do), so a
    -- shorter value cannot hold more than the cap: count only past that.
    local cap = tonumber(maxUser)
    if #v > cap * 16 then
      local n = select(2, string.gsub(v, '\30', '')) + 1
      while n > cap do
        v = string.sub(v, string.find(v, '\30', 1, true) + 1)
        n = n - 1
      end
    end
  end
  redis.call('HSET', kUser, user, v)
  local day = tonumber(string.match(kUser, ':trail:(%d+):'))
  if retention ~= '0' and day and day > 0 then
    redis.call('PEXPIREAT', kUser, (day + 1) * 86400000 + tonumber(retention))
  end
end

-- endEpisode adds a deferral episode to the audit entry that ends it (a
-- finish, a counted retry, a dead letter): how many times the job was
-- deferred since its episode's one "deferred" entry, and the last reason.
-- Nothing is added when the job was not deferred.
local function endEpisode(fields, deferrals, reason)
  local n = tonumber(deferrals) or 0
  if n > 0 then
    fields[#fields + 1] = 'deferrals'
    fields[#fields + 1] = tostring(n)
    fields[#fields + 1] = 'defer_reason'
    fields[#fields + 1] = reason
  end
  return fields
end
