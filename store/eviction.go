package store

import (
	"context"
	"errors"
	"fmt"
)

// ErrEvictionPolicy reports a Redis that may evict mailproof's keys.
var ErrEvictionPolicy = errors.New("redis maxmemory-policy must be noeviction")

// CheckEvictionPolicy reads Redis's settings and refuses a Redis that may evict keys
// (see Settings.CheckEviction).
func (r *Redis) CheckEvictionPolicy(ctx context.Context) error {
	s, err := r.ReadSettings(ctx)
	if err != nil {
		return err
	}
	return s.CheckEviction()
}

// CheckEviction refuses a Redis whose maxmemory-policy is anything but noeviction: under
// memory pressure such a Redis silently deletes keys, and a deleted job, replay mark or
// pending record is a lost or doubled event with nobody told. With noeviction, writes
// fail loudly instead.
func (s Settings) CheckEviction() error {
	if s.MaxmemoryPolicy != "noeviction" {
		return fmt.Errorf("%w: it is %q; set `maxmemory-policy noeviction` in redis.conf "+
			"(or CONFIG SET maxmemory-policy noeviction, or your provider's parameter group) "+
			"so that a full Redis refuses writes instead of deleting jobs and records",
			ErrEvictionPolicy, s.MaxmemoryPolicy)
	}
	return nil
}
