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
	// The shards, each read newest first from the cursor on (ties included:
	// the pages are keyset-based, an offset only walks within this call).
	m := newIndexMerge(true, func(p redis.Pipeliner, key string, offset, count int64) *redis.ZSliceCmd {
		return p.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: key, Start: pos.start(), Stop: "-inf",
			ByScore: true, Rev: true, Offset: offset, Count: count,
		})
	}, pos.after)

	var (
		out   []Record
		last  redis.Z
		stale []staleEntry
	)
	for len(out) < limit {
		zs, keys, err := m.next(ctx, r.c, limit-len(out)+8)
		if err != nil {
			return nil, "", wrap("list pending", err)
		}
		if len(zs) == 0 {
			break
		}
		recs, found, err := r.indexed(ctx, zs, keys)
		if err != nil {
			return nil, "", wrap("list pending", err)
		}
		for i, z := range zs {
			if len(out) == limit {
				break
			}
			rec := recs[i]
			if !found[i] || (rec.Status != StatusPending && rec.Status != StatusVerifying) {
				member := z.Member.(string)
				stale = append(stale, staleEntry{key: keys[i], member: member, user: memberUser(keys[i], member)})
				continue
			}
			out = append(out, rec)
			last = z
		}
	}
	if len(stale) > 0 {
		// Best effort: a failure here only leaves work for the next listing.
		_ = r.unindex(ctx, stale)
	}
	if len(out) < limit {
		return out, "", nil
	}
	return out, encodeCursor(last), nil
}

// staleEntry is a pending index entry whose record was not waiting when read.
type staleEntry struct{ key, member, user string }

// unindex removes stale entries, each only if its record is still not waiting
// (lua/unindex.lua): a record provisioned again since it was read keeps its entry.
func (r *Redis) unindex(ctx context.Context, stale []staleEntry) error {
	keys := make([]string, 0, 3*len(stale))
	args := make([]any, 1, 1+2*len(stale))
	args[0] = ms(r.now())
	for _, e := range stale {
		keys = append(keys, e.key, recordShardKey(e.user), oldRecordKey(e.user))
		args = append(args, e.member, e.user)
	}
	return r.scripts.unindex.Run(ctx, r.c, keys, args...).Err()
}

// indexMerge reads the pending index shards (and the index of the layout before)
// as one sorted set: newest first (rev) or oldest first, ties by member in the same
// direction, as ZRANGE orders one set. Each shard is read in chunks as the merge
// reaches its end, all shards that need one in one round trip; a user is in one
// shard only, so no member comes twice.
type indexMerge struct {
	rev    bool
	read   func(p redis.Pipeliner, key string, offset, count int64) *redis.ZSliceCmd
	filter func([]redis.Z) []redis.Z
	shards []indexShard
}

type indexShard struct {
	key    string
	buf    []redis.Z
	offset int64
	done   bool
}

func newIndexMerge(rev bool, read func(p redis.Pipeliner, key string, offset, count int64) *redis.ZSliceCmd, filter func([]redis.Z) []redis.Z) *indexMerge {
	keys := pendingIndexKeys()
	m := &indexMerge{rev: rev, read: read, filter: filter, shards: make([]indexShard, len(keys))}
	for i, k := range keys {
		m.shards[i].key = k
	}
	return m
}

// before reports whether a comes before b in the merge's order.
func (m *indexMerge) before(a, b redis.Z) bool {
	if a.Score != b.Score {
		return (a.Score > b.Score) == m.rev
	}
	return (a.Member.(string) > b.Member.(string)) == m.rev
}

// next returns up to n entries in order, each with the key it came from; fewer
// only when every shard is exhausted.
func (m *indexMerge) next(ctx context.Context, c redis.UniversalClient, n int) ([]redis.Z, []string, error) {
	var (
		out  []redis.Z
		keys []string
	)
	// About twice a shard's share of n: most shards are read once, few
	// twice, and a page of 50 reads a few hundred entries, not thousands.
	chunk := int64(max(2*n/len(m.shards)+1, 4))
	for len(out) < n {
		// Every shard with nothing buffered must be read before the smallest
		// head is known.
		var need []int
		for i := range m.shards {
			if s := &m.shards[i]; len(s.buf) == 0 && !s.done {
				need = append(need, i)
			}
		}
		if len(need) > 0 {
			cmds := make([]*redis.ZSliceCmd, len(need))
			if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for j, i := range need {
					cmds[j] = m.read(p, m.shards[i].key, m.shards[i].offset, chunk)
				}
				return nil
			}); err != nil {
				return nil, nil, err
			}
			for j, i := range need {
				s := &m.shards[i]
				zs := cmds[j].Val()
				s.offset += int64(len(zs))
				s.done = int64(len(zs)) < chunk
				if m.filter != nil {
					zs = m.filter(zs)
				}
				s.buf = zs
			}
			continue
		}
		best := -1
		for i := range m.shards {
			if s := &m.shards[i]; len(s.buf) > 0 && (best < 0 || m.before(s.buf[0], m.shards[best].buf[0])) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		s := &m.shards[best]
		out = append(out, s.buf[0])
		keys = append(keys, s.key)
		s.buf = s.buf[1:]
	}
	return out, keys, nil
}

// indexed reads the records of pending index entries (each read from
// keys[i]) in one round trip, and which of them exist.
func (r *Redis) indexed(ctx context.Context, zs []redis.Z, keys []string) ([]Record, []bool, error) {
	users := make([]string, len(zs))
	for i, z := range zs {
		users[i] = memberUser(keys[i], z.Member.(string))
	}
	recs, errs := r.GetMany(ctx, users)
	found := make([]bool, len(zs))
	for i, err := range errs {
		switch {
		case err == nil:
			found[i] = true
		case !errors.Is(err, ErrNotFound):
			return nil, nil, err
		}
	}
	return recs, found, nil
}

// memberUser is the user id of a pending index member read from key: a
// shard's member is the user id, the index of the layout before shards has
// it encoded.
func memberUser(key, member string) string {
	if key != keyPendingIndex {
		return member
	}
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
	m := newIndexMerge(false, func(p redis.Pipeliner, key string, offset, count int64) *redis.ZSliceCmd {
		return p.ZRangeWithScores(ctx, key, offset, offset+count-1)
	}, nil)
	var out []Record
	for scanned := 0; len(out) < n && scanned < longestWaitingScan; {
		zs, keys, err := m.next(ctx, r.c, n-len(out)+8)
		scanned += len(zs)
		if err != nil {
			return nil, wrap("longest waiting", err)
		}
		if len(zs) == 0 {
			break
		}
		recs, found, err := r.indexed(ctx, zs, keys)
		if err != nil {
			return nil, wrap("longest waiting", err)
		}
		for i, rec := range recs {
			if found[i] && (rec.Status == StatusPending || rec.Status == StatusVerifying) && len(out) < n {
				out = append(out, rec)
			}
		}
	}
	return out, nil
}
