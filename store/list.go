package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Listing limits, shared by ListPending, ListDLQ and Audit.
const (
	DefaultListLimit = 50   // DefaultListLimit is the page size for limit <= 0.
	MaxListLimit     = 1000 // MaxListLimit caps any page.
)

// ErrBadCursor reports a cursor that ListPending did not produce.
var ErrBadCursor = errors.New("invalid cursor")

// ListPending returns records still waiting for proof (pending or
// verifying), newest provisioning time first, and the cursor of the next
// page ("" when this page reached the end; a full page may be followed by an
// empty one). limit <= 0 means DefaultListLimit; it is capped at
// MaxListLimit. Index entries of records that expired, ended or vanished are
// dropped on the way, so listing also keeps the index tidy.
func (r *Redis) ListPending(ctx context.Context, cursor string, limit int) ([]Record, string, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	pos, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}

	var (
		out   []Record
		last  redis.Z
		stale []any
	)
	// Offsets count from the cursor position, ties included: the pages are
	// keyset-based, the offset only walks within this one call.
	for offset := int64(0); len(out) < limit; {
		want := int64(limit-len(out)) + 8
		zs, err := r.c.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: keyPendingIndex, Start: pos.start(), Stop: "-inf",
			ByScore: true, Rev: true, Offset: offset, Count: want,
		}).Result()
		if err != nil {
			return nil, "", wrap("list pending", err)
		}
		offset += int64(len(zs))
		exhausted := int64(len(zs)) < want
		zs = pos.after(zs)

		pipe := r.c.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(zs))
		for i, z := range zs {
			cmds[i] = pipe.HGetAll(ctx, prefix+"pending:"+z.Member.(string))
		}
		if len(zs) > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, "", wrap("list pending", err)
			}
		}
		for i, z := range zs {
			if len(out) == limit {
				break
			}
			rec := r.recordFromHash(memberUser(z.Member.(string)), cmds[i].Val())
			if len(cmds[i].Val()) == 0 || (rec.Status != StatusPending && rec.Status != StatusVerifying) {
				stale = append(stale, z.Member)
				continue
			}
			out = append(out, rec)
			last = z
		}
		if exhausted {
			break
		}
	}
	if len(stale) > 0 {
		// Best effort: a failure here only leaves work for the next listing.
		_ = r.c.ZRem(ctx, keyPendingIndex, stale...).Err()
	}
	if len(out) < limit {
		return out, "", nil
	}
	return out, encodeCursor(last), nil
}

// memberUser is the user id of a pending index member (the encoded id).
func memberUser(member string) string {
	id, _ := base64.RawURLEncoding.DecodeString(member)
	return string(id)
}

// listPos is where a page starts: after (score, member) in newest-first
// order. The zero value is the beginning.
type listPos struct {
	set    bool
	score  float64
	member string
}

func (p listPos) start() string {
	if !p.set {
		return "+inf"
	}
	return strconv.FormatFloat(p.score, 'f', -1, 64)
}

// after drops entries at or before the cursor. Within one score, ZRANGE REV
// orders members descending, so those not below the cursor member were on
// an earlier page.
func (p listPos) after(zs []redis.Z) []redis.Z {
	if !p.set {
		return zs
	}
	out := zs[:0]
	for _, z := range zs {
		if z.Score == p.score && z.Member.(string) >= p.member {
			continue
		}
		out = append(out, z)
	}
	return out
}

func encodeCursor(z redis.Z) string {
	raw := strconv.FormatFloat(z.Score, 'f', -1, 64) + ":" + z.Member.(string)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(c string) (listPos, error) {
	if c == "" {
		return listPos{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return listPos{}, fmt.Errorf("list pending: %w", ErrBadCursor)
	}
	s, member, ok := strings.Cut(string(raw), ":")
	score, err := strconv.ParseFloat(s, 64)
	if !ok || err != nil || member == "" {
		return listPos{}, fmt.Errorf("list pending: %w", ErrBadCursor)
	}
	return listPos{set: true, score: score, member: member}, nil
}

// longestWaitingScan bounds how many index entries LongestWaiting reads to find its
// records, so stale entries at the old end cannot make one call expensive.
const longestWaitingScan = 500

// LongestWaiting returns up to n records still waiting for proof, the earliest
// provisioned first. Index entries of records that expired, ended or vanished are
// skipped (ListPending drops them); it reads at most a few hundred entries, so a
// call stays cheap however stale the index is, and writes nothing.
func (r *Redis) LongestWaiting(ctx context.Context, n int) ([]Record, error) {
	n = min(max(n, 0), MaxListLimit)
	var out []Record
	for start := int64(0); len(out) < n && start < longestWaitingScan; {
		batch := int64(n-len(out)) + 8
		members, err := r.c.ZRange(ctx, keyPendingIndex, start, start+batch-1).Result()
		if err != nil {
			return nil, wrap("longest waiting", err)
		}
		start += int64(len(members))
		cmds := make([]*redis.MapStringStringCmd, len(members))
		if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, m := range members {
				cmds[i] = p.HGetAll(ctx, prefix+"pending:"+m)
			}
			return nil
		}); err != nil {
			return nil, wrap("longest waiting", err)
		}
		for i, c := range cmds {
			rec := r.recordFromHash(memberUser(members[i]), c.Val())
			if len(c.Val()) > 0 && (rec.Status == StatusPending || rec.Status == StatusVerifying) && len(out) < n {
				out = append(out, rec)
			}
		}
		if int64(len(members)) < batch {
			break
		}
	}
	return out, nil
}
