package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// keyTidy is the tidy pass's lease: set while one replica's pass runs and
// for TidyEvery after it began, so the replicas take turns rather than each
// reading every record shard.
const keyTidy = prefix + "tidy"

// TidyReport is what one TidyRecords call did.
type TidyReport struct {
	// Ran is false when another replica holds the lease: nothing was read.
	Ran bool
	// Deleted counts the records deleted; Shards the shards read.
	Deleted, Shards int
}

// TidyRecords deletes the records whose end of life has passed: a hash field
// cannot expire in Redis 7.0, so what a record key's TTL did in the layouts
// before is this pass's (lua/tidy.lua says which records end when). It runs
// only when owner gets the lease (SET NX, for lease); a replica that finds
// it taken returns at once with Ran false, as does every call when records
// are kept forever (no retention). A pass reads every record shard,
// one script call each, decoding every record in it;
// run it every lease, not more often. Deleting late is harmless (a record
// is kept at least the retention), so a pass cut short by an error or a
// crash leaves its work to the next one.
func (r *Redis) TidyRecords(ctx context.Context, owner string, lease time.Duration) (TidyReport, error) {
	var rep TidyReport
	if owner == "" || lease <= 0 {
		return rep, errors.New("tidy records: empty owner or lease")
	}
	if r.cfg.retention <= 0 {
		return rep, nil // records are kept forever: nothing ever ends
	}
	ok, err := r.c.SetNX(ctx, keyTidy, owner, lease).Result()
	if err != nil {
		return rep, wrap("tidy records", err)
	}
	if !ok {
		return rep, nil
	}
	rep.Ran = true
	now, retention := ms(r.now()), durMS(r.cfg.retention)
	var errs []error
	for shard := range uint32(recordShards) {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		n, err := r.runScript(ctx, "tidy", r.scripts.tidy, []string{recordsKey(shard), pendingShardKey(shard)}, now, retention).Int()
		if err != nil {
			// One shard failing (a value of the wrong type, a timeout) must
			// not keep the others from being tidied.
			errs = append(errs, fmt.Errorf("shard %d: %w", shard, err))
			continue
		}
		rep.Shards++
		rep.Deleted += n
	}
	if len(errs) > 0 {
		return rep, wrap("tidy records", fmt.Errorf("%d of %d shards failed, first: %w", len(errs), recordShards, errs[0]))
	}
	return rep, nil
}
