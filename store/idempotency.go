package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// IdempotencyTTL is how long an admin API answer is kept under its Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// Answer is a remembered admin API answer.
type Answer struct {
	Fingerprint string // what the request asked, so a key reused for another request is caught
	Status      int
	Body        []byte
}

// RememberedAnswer returns the answer kept under a client's Idempotency-Key, or
// ErrNotFound.
func (r *Redis) RememberedAnswer(ctx context.Context, key string) (Answer, error) {
	h, err := r.c.HGetAll(ctx, idKey("idem:", key)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return Answer{}, wrap("idempotency", err)
	}
	if len(h) == 0 {
		return Answer{}, ErrNotFound
	}
	status, _ := strconv.Atoi(h["status"])
	return Answer{Fingerprint: h["fp"], Status: status, Body: []byte(h["body"])}, nil
}

// RememberAnswer keeps a under key for IdempotencyTTL; the first answer stays.
func (r *Redis) RememberAnswer(ctx context.Context, key string, a Answer) error {
	k := idKey("idem:", key)
	pipe := r.c.TxPipeline()
	pipe.HSetNX(ctx, k, "fp", a.Fingerprint)
	pipe.HSetNX(ctx, k, "status", strconv.Itoa(a.Status))
	pipe.HSetNX(ctx, k, "body", string(a.Body))
	pipe.PExpire(ctx, k, IdempotencyTTL)
	if _, err := pipe.Exec(ctx); err != nil {
		return wrap("idempotency", err)
	}
	return nil
}
