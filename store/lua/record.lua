-- Shared prelude: prepended to every script that reads and writes a record.
--
-- A record hash has one of two layouts. The compact one, written by this
-- release, has one-letter field names and no field for what is empty or
-- implied (record.go, recordFromHash, reads it):
--   s status, e email, c connection (absent: Username-Password-Authentication,
--   Auth0's default database connection; '' is kept as ''), p provisioned_at,
--   x expires_at (absent: never), a created_at (absent: = p), u updated_at (absent: = created),
--   o outcome, h holder, d delivery, t delivered_at, n deliveries,
--   g delivering_at (each absent: empty or 0)
-- and no user id: the key is the user id, encoded. The long one, written by
-- releases before, has user_id, email, connection, provisioned_at, status,
-- outcome, holder, created_at, updated_at, expires_at, delivery,
-- delivered_at, deliveries, delivering_at, empty values written as ''.
-- A hash has 's' exactly when it is compact: upgrade and the put script
-- write 's' and remove 'status' in one script, and nothing else writes
-- either name.
local defaultConnection = 'Username-Password-Authentication'
local longNames = {
  email = 'e', connection = 'c', provisioned_at = 'p', status = 's',
  outcome = 'o', holder = 'h', expires_at = 'x', created_at = 'a',
  updated_at = 'u', delivery = 'd', delivered_at = 't', deliveries = 'n',
  delivering_at = 'g'}

-- upgrade rewrites a long-layout record in the compact layout, in place
-- (the key's TTL is kept: fields change, the key is never deleted), so the
-- script that calls it reads and writes one layout. Every value is carried
-- over unchanged but those the compact layout leaves out because they say
-- nothing ('' and '0', a created_at equal to provisioned_at, an updated_at
-- equal to created_at, the default connection), and the user id, which the
-- key already names. So a check made after upgrade sees exactly the
-- status, holder and expiry the long fields held: the upgrade and the check
-- run in one script, with no write between them.
local function upgrade(key)
  if redis.call('HEXISTS', key, 'status') == 0 then
    return
  end
  local all = redis.call('HGETALL', key)
  local v, drop = {}, {}
  for i = 1, #all, 2 do
    local short = longNames[all[i]]
    if short or all[i] == 'user_id' then
      drop[#drop + 1] = all[i]
    end
    if short == 'c' then
      if all[i + 1] ~= defaultConnection then
        v.c = all[i + 1]
      end
    elseif short and all[i + 1] ~= '' and all[i + 1] ~= '0' then
      v[short] = all[i + 1]
    end
  end
  if v.a == v.p then v.a = nil end
  if v.u == (v.a or v.p) then v.u = nil end
  local set = {}
  for k, val in pairs(v) do
    set[#set + 1] = k
    set[#set + 1] = val
  end
  -- Written before the long fields go, so the hash is never empty (Redis
  -- would delete it, and its TTL with it).
  if #set > 0 then
    redis.call('HSET', key, unpack(set))
  end
  redis.call('HDEL', key, unpack(drop))
end

-- setOrClear writes field/value pairs to a compact record, removing a field
-- whose value is '' instead of storing it.
local function setOrClear(key, ...)
  local args = {...}
  local set, del = {}, {}
  for i = 1, #args, 2 do
    if args[i + 1] == '' then
      del[#del + 1] = args[i]
    else
      set[#set + 1] = args[i]
      set[#set + 1] = args[i + 1]
    end
  end
  if #set > 0 then redis.call('HSET', key, unpack(set)) end
  if #del > 0 then redis.call('HDEL', key, unpack(del)) end
end
