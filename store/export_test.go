package store

import "context"

// RunReplayScript runs the replay script alone, as go-redis re-sends it
// after a reply timeout: without ReplayDLQ's reads before it.
func RunReplayScript(ctx context.Context, r *Redis, dlqID, userID string) (string, error) {
	keys := []string{keyDLQ, keyJobs, keyAudit, userAuditKey(userID), replayedKey(dlqID)}
	args := append([]any{dlqID, ms(r.now()), durMS(replayMarkTTL)}, r.auditArgs()...)
	return r.scripts.replay.Run(ctx, r.c, keys, args...).Text()
}
