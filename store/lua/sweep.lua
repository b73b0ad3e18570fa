-- Sweep: the reconcile sweep's lease and its cursor. One replica sweeps at a
-- time: it holds the lock key with a lease it renews, and it may write the
-- cursor only while it does, so a replica that lost its lease (it stalled,
-- another took over) can never move the cursor back or forth.
-- KEYS: 1 lock (string, PX lease), 2 sweep state (hash)
-- ARGV: 1 op (acquire, renew, release, save), 2 owner, 3 lease ms, then for
--       save: field/value pairs; an empty value removes the field
-- Returns 1 when the owner holds (or, for release, held) the lock, else 0.
local op, owner = ARGV[1], ARGV[2]
if op == 'acquire' then
  if redis.call('SET', KEYS[1], owner, 'NX', 'PX', ARGV[3]) then
    return 1
  end
end
if redis.call('GET', KEYS[1]) ~= owner then
  return 0
end
if op == 'acquire' or op == 'renew' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
elseif op == 'release' then
  redis.call('DEL', KEYS[1])
elseif op == 'save' then
  for i = 4, #ARGV - 1, 2 do
    if ARGV[i + 1] == '' then
      redis.call('HDEL', KEYS[2], ARGV[i])
    else
      redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
    end
  end
else
  return redis.error_reply('sweep: unknown op ' .. op)
end
return 1
