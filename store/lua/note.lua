-- Note: one audit entry for a change an operator made (registration,
-- provisioning, adoption, resend, deletion), written to both trails at once.
-- KEYS: 1 audit, 2 user audit
-- ARGV: 1 now ms, 2 user id, 3 outcome, 4 by, 5 detail,
--       6 audit cap, 7 user audit cap, 8 retention ms
audit(KEYS[1], KEYS[2], ARGV[6], ARGV[7], ARGV[8], {
  'time', ARGV[1], 'user_id', ARGV[2], 'outcome', ARGV[3], 'by', ARGV[4], 'detail', ARGV[5]})
return 1
