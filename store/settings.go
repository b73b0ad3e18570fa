package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Settings is the part of Redis's own configuration that decides whether mailproof's
// writes are safe there: whether Redis may evict keys, and what it keeps of
// acknowledged writes when it stops. ReadSettings fills it.
type Settings struct {
	MaxmemoryPolicy string
	// AppendOnly is "yes" or "no" (AOF on or off), "" when neither CONFIG GET nor INFO
	// says.
	AppendOnly string
	// AppendFsync (always, everysec or no) and Save (the RDB snapshot schedule, "" for
	// none) are read from CONFIG GET only.
	AppendFsync string
	Save        string
	// ConfigErr is why CONFIG GET failed: managed Redis services often rename CONFIG or
	// deny it by ACL. The fields above then come from INFO, which tells the eviction
	// policy and whether AOF is on, but neither appendfsync nor the snapshot schedule.
	ConfigErr error
}

// ReadSettings reads Redis's eviction and persistence settings in one round trip: one
// CONFIG GET per setting, pipelined (CONFIG GET of several names needs Redis 7). Where
// CONFIG is refused it reads INFO memory and INFO persistence instead, and fails only
// when neither answers.
func (r *Redis) ReadSettings(ctx context.Context) (Settings, error) {
	s, cfgErr := r.configSettings(ctx)
	if cfgErr == nil {
		return s, nil
	}
	s, infoErr := r.infoSettings(ctx)
	if infoErr != nil {
		return Settings{}, fmt.Errorf("read Redis settings: %w", errors.Join(cfgErr, infoErr))
	}
	s.ConfigErr = cfgErr
	return s, nil
}

// shard returns the client of the node holding mailproof's keys: on a Cluster
// a command without a key goes to any node, and only the one that owns the
// {mp} slot has settings that matter; elsewhere it is the client itself.
func (r *Redis) shard(ctx context.Context) (redis.Cmdable, error) {
	c, ok := r.c.(*redis.ClusterClient)
	if !ok {
		return r.c, nil
	}
	m, err := c.MasterForKey(ctx, keyJobs)
	if err != nil {
		return nil, fmt.Errorf("cluster: the master of %s: %w", keyJobs, err)
	}
	return m, nil
}

func (r *Redis) configSettings(ctx context.Context) (Settings, error) {
	c, err := r.shard(ctx)
	if err != nil {
		return Settings{}, err
	}
	names := []string{"maxmemory-policy", "appendonly", "appendfsync", "save"}
	cmds := make([]*redis.MapStringStringCmd, len(names))
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			cmds[i] = p.ConfigGet(ctx, n)
		}
		return nil
	})
	if err != nil {
		return Settings{}, fmt.Errorf("config get: %w", err)
	}
	v := make([]string, len(names))
	for i, n := range names {
		var ok bool
		if v[i], ok = cmds[i].Val()[n]; !ok {
			return Settings{}, fmt.Errorf("config get: no %s in the answer", n)
		}
	}
	return Settings{MaxmemoryPolicy: v[0], AppendOnly: v[1], AppendFsync: v[2], Save: v[3]}, nil
}

func (r *Redis) infoSettings(ctx context.Context) (Settings, error) {
	c, err := r.shard(ctx)
	if err != nil {
		return Settings{}, err
	}
	var memory, persistence *redis.StringCmd
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		memory = p.Info(ctx, "memory")
		persistence = p.Info(ctx, "persistence")
		return nil
	})
	if err != nil {
		return Settings{}, fmt.Errorf("info: %w", err)
	}
	var s Settings
	var ok bool
	if s.MaxmemoryPolicy, ok = infoField(memory.Val(), "maxmemory_policy"); !ok {
		return Settings{}, errors.New("info memory: no maxmemory_policy")
	}
	switch aof, _ := infoField(persistence.Val(), "aof_enabled"); aof {
	case "1":
		s.AppendOnly = "yes"
	case "0":
		s.AppendOnly = "no"
	}
	return s, nil
}

// infoField finds "name:value" among INFO's lines.
func infoField(info, name string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), name+":"); ok {
			return v, true
		}
	}
	return "", false
}

// Loss says, for an operator, which acknowledged writes Redis can lose under these
// settings; "" when it loses none (AOF with appendfsync always). With AOF, Redis hands
// each write to the operating system before it answers, so only a host crash or power
// loss costs what the fsync policy has not flushed yet.
func (s Settings) Loss() string {
	switch {
	case s.AppendOnly == "yes" && s.AppendFsync == "always":
		return ""
	case s.AppendOnly == "yes" && s.AppendFsync == "everysec":
		return "up to about the last second of acknowledged writes on a host crash or power loss (appendfsync everysec); none when only Redis crashes"
	case s.AppendOnly == "yes" && s.AppendFsync == "no":
		return "up to about the last 30 seconds of acknowledged writes on a host crash or power loss (appendfsync no: the operating system decides when to flush); none when only Redis crashes"
	case s.AppendOnly == "yes":
		return "an unknown share of the last acknowledged writes on a host crash or power loss: AOF is on, but appendfsync cannot be read without CONFIG GET (about the last second with everysec)"
	case s.AppendOnly == "no" && s.Save != "":
		return "every acknowledged write since the last RDB snapshot (save " + strconv.Quote(s.Save) + ") when Redis stops without a final snapshot: a crash, a kill, a host failure"
	case s.AppendOnly == "no" && s.ConfigErr == nil:
		return "every acknowledged write whenever Redis restarts (no RDB snapshots either)"
	case s.AppendOnly == "no":
		return "every acknowledged write since the last RDB snapshot, if Redis takes any, when it stops without a final one: a crash, a kill, a host failure"
	}
	return "an unknown share of acknowledged writes: neither CONFIG GET nor INFO persistence tells whether AOF is on"
}
