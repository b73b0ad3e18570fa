-- Shared prelude: prepended to every script that records a decision.
--
-- audit appends one entry (a flat field/value list) to the global audit
-- stream, trimmed to about maxAll entries, and to the user's own short trail,
-- trimmed exactly to maxUser and expiring with the record retention.
local function audit(kAll, kUser, maxAll, maxUser, retention, fields)
  redis.call('XADD', kAll, 'MAXLEN', '~', maxAll, '*', unpack(fields))
  redis.call('XADD', kUser, 'MAXLEN', maxUser, '*', unpack(fields))
  if retention ~= '0' then
    redis.call('PEXPIRE', kUser, retention)
  end
end
