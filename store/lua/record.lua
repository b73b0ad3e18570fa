-- Shared prelude: prepended to every script that reads or writes a record,
-- after lua/audit.lua (whose b36 it uses).
--
-- A record is one field of a hash shared by the users of one shard,
-- mp:{mp}:records:<shard> (256 shards by FNV-1a of the user id, as the
-- pending index's): the field is the user id, the value the record packed
-- (packRecord). Records written by releases before are hashes of their own,
-- mp:{mp}:pending:<enc user>, in one of two layouts; loadRecord reads those
-- too, and saveRecord, the one writer, deletes that key in the same script,
-- so a user's record is in one place at any time and a script never sees a
-- mix of two.
--
-- In a script a record is a table of the compact layout's values, times as
-- decimal Unix ms strings:
--   s status, e email, c connection (nil: Username-Password-Authentication,
--   Auth0's default database connection; '' is kept as ''), p provisioned_at,
--   x expires_at (nil: never), a created_at (nil: = p), u updated_at
--   (nil: = created), o outcome, h holder, d delivery, t delivered_at,
--   n deliveries, g delivering_at (each nil: empty or 0).
-- The long layout of the hashes before has user_id, email, connection,
-- provisioned_at, status, outcome, holder, created_at, updated_at,
-- expires_at, delivery, delivered_at, deliveries, delivering_at, empty
-- values written as ''; the compact one the names above. A hash has 's'
-- exactly when it is compact.
local defaultConnection = 'Username-Password-Authentication'
local longNames = {
  email = 'e', connection = 'c', provisioned_at = 'p', status = 's',
  outcome = 'o', holder = 'h', expires_at = 'x', created_at = 'a',
  updated_at = 'u', delivery = 'd', delivered_at = 't', deliveries = 'n',
  delivering_at = 'g'}

-- The packed value: these fields in this order, joined by \31, the empty
-- ones at the end left out. Times are base 36 (8 characters instead of 13),
-- the status one letter, text escaped (\27 and \31 become \27a and \27b), and
-- the connection '' for the default one, else '=' and the name ('=' alone
-- is the empty connection, which accepts any: never confused with the
-- default). record.go's unpackRecord reads it.
local packOrder = {'s', 'p', 'e', 'x', 'c', 'a', 'u', 'o', 'h', 'd', 't', 'n', 'g'}
local packTimes = {p = true, x = true, a = true, u = true, t = true, g = true}
local statusCode = {pending = 'P', verifying = 'W', verified = 'V', closed = 'C'}
local statusName = {P = 'pending', W = 'verifying', V = 'verified', C = 'closed'}
local escapes = {['\27'] = '\27a', ['\31'] = '\27b'}
local unescapes = {a = '\27', b = '\31'}

local function packRecord(rec)
  local v = {}
  for k, val in pairs(rec) do v[k] = val end
  if v.a == v.p then v.a = nil end
  if v.u == (v.a or v.p) then v.u = nil end
  local parts, last = {}, 0
  for i, k in ipairs(packOrder) do
    local val = v[k]
    local out = ''
    if k == 'c' then
      if val ~= nil and val ~= defaultConnection then
        out = '=' .. string.gsub(val, '[\27\31]', escapes)
      end
    elseif val == nil or val == '' then
      out = ''
    elseif k == 's' then
      out = statusCode[val] or string.gsub(val, '[\27\31]', escapes)
    elseif packTimes[k] then
      local n = math.floor(tonumber(val) or 0)
      if n > 0 then out = b36(n) end -- lua/audit.lua, prepended before this
    else
      out = string.gsub(val, '[\27\31]', escapes)
    end
    parts[i] = out
    if out ~= '' then last = i end
  end
  return table.concat(parts, '\31', 1, last)
end

local function unpackRecord(packed)
  local rec, i, pos = {}, 1, 1
  while true do
    local stop = string.find(packed, '\31', pos, true)
    local val = string.sub(packed, pos, (stop or 0) - 1)
    local k = packOrder[i]
    if not k then break end
    if k == 'c' then
      if val ~= '' then
        rec.c = string.gsub(string.sub(val, 2), '\27(.)', unescapes)
      end
    elseif val ~= '' then
      if k == 's' then
        rec.s = statusName[val] or string.gsub(val, '\27(.)', unescapes)
      elseif packTimes[k] then
        -- A time that is not a positive base-36 number (a damaged value)
        -- reads as absent, as Go's unpackRecord reads it, rather than
        -- failing the script or meaning something Go would not see.
        local n = tonumber(val, 36)
        if n and n > 0 then rec[k] = string.format('%.0f', n) end
      else
        rec[k] = string.gsub(val, '\27(.)', unescapes)
      end
    end
    if not stop then break end
    pos, i = stop + 1, i + 1
  end
  return rec
end

-- fromLong reads a hash of the long layout (field -> value) as a record.
-- Every value is carried over unchanged but those the compact layout leaves
-- out because they say nothing ('' and '0', a created_at equal to
-- provisioned_at, an updated_at equal to created_at, the default
-- connection), and the user id, which the field names. So a check made on
-- it sees exactly the status, holder and expiry the long fields held.
local function fromLong(h)
  local v = {}
  for name, val in pairs(h) do
    local short = longNames[name]
    if short == 'c' then
      if val ~= defaultConnection then
        v.c = val
      end
    elseif short and val ~= '' and val ~= '0' then
      v[short] = val
    end
  end
  if v.a == v.p then v.a = nil end
  if v.u == (v.a or v.p) then v.u = nil end
  return v
end

-- loadRecord returns user's record, or nil: the field of its shard, else
-- the hash of a layout before (either one).
local function loadRecord(shard, old, user)
  local packed = redis.call('HGET', shard, user)
  if packed then
    return unpackRecord(packed)
  end
  local all = redis.call('HGETALL', old)
  if #all == 0 then
    return nil
  end
  local h = {}
  for i = 1, #all, 2 do h[all[i]] = all[i + 1] end
  if h.s then
    return h
  end
  return fromLong(h)
end

-- The layout records are written in is the last ARGV of every script that
-- writes one: 'packed', or 'hash:<retention ms>' while replicas of the
-- release before may still run (store.WithRecordLayout): they read only the
-- compact hash of their own layout, so a record written packed would be
-- invisible to them (a login taken as not pending, a delete that misses).
local layoutArg = ARGV[#ARGV] or ''
local hashWrites = string.sub(layoutArg, 1, 5) == 'hash:'
local hashRetention = tonumber(string.sub(layoutArg, 6)) or 0

-- saveRecord writes user's record in the layout asked for, and removes its
-- copy in the other, in the one script that read it: a user's record is in
-- one place after every write, whichever replica made it.
local function saveRecord(shard, old, user, rec)
  if not hashWrites then
    redis.call('HSET', shard, user, packRecord(rec))
    redis.call('DEL', old)
    return
  end
  -- The compact hash exactly as the release before wrote it (its
  -- lua/record.lua): the values of packRecord's table, nothing for what is
  -- empty or implied, '' kept only as a connection.
  local v = {}
  for k, val in pairs(rec) do v[k] = val end
  if v.a == v.p then v.a = nil end
  if v.u == (v.a or v.p) then v.u = nil end
  local set, written, del = {}, {}, {}
  for _, k in ipairs(packOrder) do
    local val = v[k]
    if k == 'c' and val == defaultConnection then val = nil end
    if val ~= nil and (val ~= '' or k == 'c') then
      set[#set + 1] = k
      set[#set + 1] = val
      written[k] = true
    end
  end
  -- Written before anything is removed, so the hash is never empty (Redis
  -- would delete it, and its TTL with it); the long layout's names go too.
  redis.call('HSET', old, unpack(set))
  for _, k in ipairs(packOrder) do
    if not written[k] then del[#del + 1] = k end
  end
  for name in pairs(longNames) do del[#del + 1] = name end
  del[#del + 1] = 'user_id'
  redis.call('HDEL', old, unpack(del))
  redis.call('HDEL', shard, user)
  -- Its key expires at its end of life, as the release before set it: the
  -- retention after it ended (verified or closed) or after its expiry.
  local base = v.x
  if v.s == 'verified' or v.s == 'closed' then base = v.u or v.a or v.p end
  if hashRetention > 0 and base then
    redis.call('PEXPIREAT', old, tonumber(base) + hashRetention)
  else
    redis.call('PERSIST', old)
  end
end

-- recordExists reports whether user has a record in any layout.
local function recordExists(shard, old, user)
  return redis.call('HEXISTS', shard, user) == 1 or redis.call('EXISTS', old) == 1
end
