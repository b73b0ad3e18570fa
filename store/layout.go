package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Record layouts, for WithRecordLayout and MAILPROOF_RECORD_LAYOUT.
const (
	// LayoutAuto follows the choice recorded in Redis; without one, it is
	// packed on a Redis no release before this one has used, and hash on
	// one it has (its job stream is there), until an operator says packed.
	LayoutAuto = "auto"
	// LayoutPacked writes records as fields of shared hashes: about 160
	// bytes a pending record instead of 375, read only by this release on.
	LayoutPacked = "packed"
	// LayoutHash writes records as the release before did, a hash per user
	// with its own expiry, in the one pending index it reads: what a
	// rolling upgrade needs while replicas of that release still run.
	LayoutHash = "hash"
)

// keyLayout records the layout the last explicit choice (or the first
// replica on an empty Redis) settled on, so every LayoutAuto replica writes
// the same one.
const keyLayout = prefix + "layout"

// layoutRecheck is how long a LayoutAuto replica keeps what it read from
// keyLayout: an operator's switch to packed reaches every replica within it.
const layoutRecheck = time.Minute

// WithRecordLayout chooses how records are written: LayoutAuto (the
// default), LayoutPacked or LayoutHash. Every layout is read whatever the
// choice, and each write moves the record to the layout chosen, so replicas
// of this release with different choices never lose one; only replicas of
// the release before need LayoutHash, because they read nothing else.
func WithRecordLayout(layout string) Option {
	if layout == "" {
		layout = LayoutAuto
	}
	return func(c *config) { c.layout = layout }
}

// ValidLayout reports whether s names a record layout.
func ValidLayout(s string) bool {
	return s == LayoutAuto || s == LayoutPacked || s == LayoutHash
}

// layoutState is what a replica decided, and when.
type layoutState struct {
	mu      sync.Mutex
	layout  string
	checked time.Time
}

// RecordLayout is the layout this replica writes records in now (LayoutPacked
// or LayoutHash), deciding it if need be: an explicit choice is recorded in
// Redis for the LayoutAuto replicas, which read it.
func (r *Redis) RecordLayout(ctx context.Context) (string, error) {
	s := &r.layout
	s.mu.Lock()
	defer s.mu.Unlock()
	now := r.now()
	if s.layout != "" && (r.cfg.layout != LayoutAuto || now.Sub(s.checked) < layoutRecheck) {
		return s.layout, nil
	}
	layout, err := r.decideLayout(ctx)
	if err != nil {
		return "", wrap("record layout", err)
	}
	s.layout, s.checked = layout, now
	return layout, nil
}

func (r *Redis) decideLayout(ctx context.Context) (string, error) {
	rep, err := r.peekLayout(ctx)
	if err != nil {
		return "", err
	}
	switch rep.Why {
	case ReasonChosen:
		return rep.Layout, r.c.Set(ctx, keyLayout, rep.Layout, 0).Err()
	case ReasonEmptyRedis:
		// On an empty Redis no replica of an earlier release can be running
		// (it would have created the job stream on start), so the first
		// replica here records packed and every later one follows it.
		if err := r.c.SetNX(ctx, keyLayout, LayoutPacked, 0).Err(); err != nil {
			return "", err
		}
		got, err := r.c.Get(ctx, keyLayout).Result()
		if err != nil {
			return "", err
		}
		if got != LayoutPacked && got != LayoutHash {
			return "", fmt.Errorf("%s holds %q, want %s or %s", keyLayout, got, LayoutPacked, LayoutHash)
		}
		return got, nil
	}
	return rep.Layout, nil
}

// layoutArg is the last argument of every script that writes a record (see
// lua/record.lua): "packed", or "hash:" and the retention in ms, which the
// hash layout's key expiry needs.
func (r *Redis) layoutArg(ctx context.Context) (string, error) {
	layout, err := r.RecordLayout(ctx)
	if err != nil {
		return "", err
	}
	if layout == LayoutHash {
		return "hash:" + durMS(r.cfg.retention), nil
	}
	return LayoutPacked, nil
}

// LayoutReport is which layout a replica would write records in, and why.
type LayoutReport struct {
	Layout string // LayoutPacked or LayoutHash
	// Why is one of the Reason constants: an explicit choice, one recorded in Redis
	// (by such a choice or the first replica on an empty Redis), an earlier release's
	// data (a release before this one has run here, and its replicas may still), or
	// an empty Redis.
	Why string
}

// The reasons a LayoutReport gives.
const (
	ReasonChosen         = "chosen"          // ReasonChosen: WithRecordLayout named the layout.
	ReasonRecorded       = "recorded"        // ReasonRecorded: mp:{mp}:layout holds it.
	ReasonEarlierRelease = "earlier release" // ReasonEarlierRelease: an earlier release's job stream, nothing recorded.
	ReasonEmptyRedis     = "empty Redis"     // ReasonEmptyRedis: nothing there yet.
)

// PeekLayout reports what RecordLayout would decide, without recording anything:
// for doctor, which must not settle the layout from an operator's laptop.
func (r *Redis) PeekLayout(ctx context.Context) (LayoutReport, error) {
	rep, err := r.peekLayout(ctx)
	if err != nil {
		return LayoutReport{}, wrap("record layout", err)
	}
	return rep, nil
}

func (r *Redis) peekLayout(ctx context.Context) (LayoutReport, error) {
	if r.cfg.layout == LayoutPacked || r.cfg.layout == LayoutHash {
		return LayoutReport{Layout: r.cfg.layout, Why: ReasonChosen}, nil
	}
	got, err := r.c.Get(ctx, keyLayout).Result()
	switch {
	case err == nil && (got == LayoutPacked || got == LayoutHash):
		return LayoutReport{Layout: got, Why: ReasonRecorded}, nil
	case err != nil && !errors.Is(err, redis.Nil):
		return LayoutReport{}, err
	}
	n, err := r.c.Exists(ctx, keyJobs).Result()
	if err != nil {
		return LayoutReport{}, err
	}
	if n > 0 {
		return LayoutReport{Layout: LayoutHash, Why: ReasonEarlierRelease}, nil
	}
	return LayoutReport{Layout: LayoutPacked, Why: ReasonEmptyRedis}, nil
}
