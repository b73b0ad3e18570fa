package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrEvictionPolicy reports a Redis that may evict mailproof's keys.
var ErrEvictionPolicy = errors.New("redis maxmemory-policy must be noeviction")

// CheckEvictionPolicy refuses a Redis whose maxmemory-policy is anything but
// noeviction: under memory pressure such a Redis silently deletes keys, and
// a deleted job, replay mark or pending record is a lost or doubled event
// with nobody told. With noeviction, writes fail loudly instead.
//
// It asks CONFIG GET, and where managed Redis services disable CONFIG it
// reads maxmemory_policy from INFO memory.
func (r *Redis) CheckEvictionPolicy(ctx context.Context) error {
	policy, err := r.configPolicy(ctx)
	if err != nil {
		var infoErr error
		policy, infoErr = r.infoPolicy(ctx)
		if infoErr != nil {
			return fmt.Errorf("read maxmemory-policy: %w", errors.Join(err, infoErr))
		}
	}
	if policy != "noeviction" {
		return fmt.Errorf("%w: it is %q; set `maxmemory-policy noeviction` in redis.conf "+
			"(or CONFIG SET maxmemory-policy noeviction, or your provider's parameter group) "+
			"so that a full Redis refuses writes instead of deleting jobs and records",
			ErrEvictionPolicy, policy)
	}
	return nil
}

func (r *Redis) configPolicy(ctx context.Context) (string, error) {
	m, err := r.c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "", fmt.Errorf("config get: %w", err)
	}
	p, ok := m["maxmemory-policy"]
	if !ok {
		return "", errors.New("config get: no maxmemory-policy in the answer")
	}
	return p, nil
}

func (r *Redis) infoPolicy(ctx context.Context) (string, error) {
	info, err := r.c.Info(ctx, "memory").Result()
	if err != nil {
		return "", fmt.Errorf("info memory: %w", err)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "maxmemory_policy:"); ok {
			return v, nil
		}
	}
	return "", errors.New("info memory: no maxmemory_policy")
}
