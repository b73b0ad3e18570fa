package store

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// reloadOnFailure makes a Cluster client re-read the slot map when a command
// fails without a Redis reply (a refused connection, a timeout). go-redis
// reloads it on MOVED, but a master that died answers nothing at all: the
// client would keep sending {mp}'s commands to it until its periodic reload
// (a minute), long after a replica took over. The reload is lazy and
// coalesced by go-redis, so a burst of failures costs one CLUSTER SLOTS.
type reloadOnFailure struct {
	c *redis.ClusterClient
}

func (h reloadOnFailure) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h reloadOnFailure) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnFailure) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

func (h reloadOnFailure) check(ctx context.Context, err error) {
	var reply redis.Error
	if err == nil || errors.Is(err, redis.Nil) || errors.As(err, &reply) {
		return
	}
	h.c.ReloadState(ctx)
}
