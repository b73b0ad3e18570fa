-- Pause: store the shared "do not call the Management API before" time,
-- only ever moving it later, and let it vanish when it passes.
-- KEYS: 1 pause key
-- ARGV: 1 until ms
local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
  return 1
end
return 0
