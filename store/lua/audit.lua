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
