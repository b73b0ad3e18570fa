package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Ingest statuses.
const (
	IngestQueued     = "queued"      // the job is on the stream
	IngestDuplicate  = "duplicate"   // the webhook id was seen before; nothing done
	IngestNotPending = "not_pending" // no pending record; marked as seen, nothing queued
)

// IngestRequest is one verified post-login event to take in.
type IngestRequest struct {
	WebhookID string
	UserID    string
	// ReplayTTL is how long the webhook id is remembered; it must cover the
	// signature timestamp tolerance on both sides (twice the tolerance).
	ReplayTTL time.Duration
	// Payload is the job body the worker will decode (the event JSON).
	Payload []byte
}

// IngestResult says what Ingest did.
type IngestResult struct {
	Status string // IngestQueued, IngestDuplicate or IngestNotPending
	JobID  string // the stream id when queued
}

// Ingest drops replays, checks the user's pending record and enqueues the
// job, in one atomic script and one round trip. For many concurrent callers
// an Ingester does the same with far fewer round trips.
func (r *Redis) Ingest(ctx context.Context, in IngestRequest) (IngestResult, error) {
	keys, args, err := r.ingestArgs(in)
	if err != nil {
		return IngestResult{}, err
	}
	return ingestResult(r.scripts.ingest.Run(ctx, r.c, keys, args...))
}

func (r *Redis) ingestArgs(in IngestRequest) ([]string, []any, error) {
	switch {
	case in.WebhookID == "":
		return nil, nil, errors.New("ingest: empty webhook id")
	case in.UserID == "":
		return nil, nil, errors.New("ingest: empty user id")
	case in.ReplayTTL <= 0:
		return nil, nil, errors.New("ingest: replay ttl must be positive")
	}
	keys := []string{replayKey(in.WebhookID), pendingKey(in.UserID), keyJobs}
	args := []any{durMS(in.ReplayTTL), in.UserID, in.WebhookID, in.Payload, ms(r.now())}
	return keys, args, nil
}

func ingestResult(cmd *redis.Cmd) (IngestResult, error) {
	v, err := cmd.StringSlice()
	if err != nil {
		return IngestResult{}, wrap("ingest", err)
	}
	if len(v) != 2 {
		return IngestResult{}, fmt.Errorf("ingest: unexpected script reply %q", v)
	}
	return IngestResult{Status: v[0], JobID: v[1]}, nil
}
