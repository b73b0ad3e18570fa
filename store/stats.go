package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Stats are the queue's numbers for the status page and metrics.
type Stats struct {
	// Pending counts indexed records waiting for proof; records that
	// expired since the last ListPending are still counted.
	Pending int64 `json:"pending"`
	// Queued counts jobs on the stream, waiting or being worked on.
	Queued int64 `json:"queued"`
	// InFlight counts jobs delivered to a worker and not yet finished.
	InFlight int64 `json:"in_flight"`
	Delayed  int64 `json:"delayed"`
	Dead     int64 `json:"dead"`
	// Undos counts flips waiting to be taken back (see Undo): anything
	// but 0 needs a person to look.
	Undos int64 `json:"undos"`
	// OldestQueuedSeconds is how long the oldest job on the stream, waiting
	// or in flight, has been there by Redis's own clock (an entry id is the
	// millisecond it was added; a retried job's is when it came back); 0
	// when nothing is queued.
	OldestQueuedSeconds float64 `json:"oldest_queued_seconds"`
}

// QueueStats reads all counters in one round trip.
func (r *Redis) QueueStats(ctx context.Context) (Stats, error) {
	pipe := r.c.Pipeline()
	pending := pendingCounts(ctx, pipe)
	queued := pipe.XLen(ctx, keyJobs)
	inFlight := pipe.XPending(ctx, keyJobs, group)
	delayed := pipe.ZCard(ctx, keyDelayed)
	dead := pipe.XLen(ctx, keyDLQ)
	undos := pipe.HLen(ctx, keyUndo)
	first := pipe.XRangeN(ctx, keyJobs, "-", "+", 1)
	now := pipe.Time(ctx)
	_, err := pipe.Exec(ctx)
	// No group yet (no worker has started since Redis came up) means
	// nothing is in flight.
	if err != nil && !redis.HasErrorPrefix(inFlight.Err(), "NOGROUP") {
		return Stats{}, wrap("queue stats", err)
	}
	for _, c := range append([]redis.Cmder{queued, delayed, dead, undos, first, now}, cmders(pending)...) {
		if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return Stats{}, wrap("queue stats", err)
		}
	}
	s := Stats{Pending: sumCounts(pending), Queued: queued.Val(), Delayed: delayed.Val(), Dead: dead.Val(), Undos: undos.Val()}
	if inFlight.Err() == nil {
		s.InFlight = inFlight.Val().Count
	}
	if msgs := first.Val(); len(msgs) > 0 {
		s.OldestQueuedSeconds = entryAge(msgs[0].ID, now.Val())
	}
	return s, nil
}

func cmders(cmds []*redis.IntCmd) []redis.Cmder {
	out := make([]redis.Cmder, len(cmds))
	for i, c := range cmds {
		out[i] = c
	}
	return out
}

// entryAge is how long before now the stream entry id was added, in seconds at
// millisecond precision; never negative.
func entryAge(id string, now time.Time) float64 {
	msPart, _, _ := strings.Cut(id, "-")
	added, err := strconv.ParseInt(msPart, 10, 64)
	if err != nil {
		return 0
	}
	return float64(max(now.UnixMilli()-added, 0)) / 1000
}
