package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/store"
	"github.com/mailproof/mailproof/store/redistest"
)

func TestReadSettings(t *testing.T) {
	noConfig := []string{"--rename-command", "CONFIG", ""}
	tests := []struct {
		name      string
		args      []string // redistest starts every server with --save "" --appendonly no first
		want      store.Settings
		configErr bool
		wantLoss  string // substring; "" means Loss must be empty
	}{
		{"no persistence", nil,
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "no", AppendFsync: "everysec"}, false, "every acknowledged write whenever Redis restarts"},
		{"RDB only", []string{"--save", "60 1"},
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "no", AppendFsync: "everysec", Save: "60 1"}, false, `since the last RDB snapshot (save "60 1")`},
		{"AOF everysec", []string{"--appendonly", "yes"},
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "yes", AppendFsync: "everysec"}, false, "about the last second"},
		{"AOF always", []string{"--appendonly", "yes", "--appendfsync", "always"},
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "yes", AppendFsync: "always"}, false, ""},
		{"AOF without fsync", []string{"--appendonly", "yes", "--appendfsync", "no"},
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "yes", AppendFsync: "no"}, false, "the last 30 seconds"},
		{"evicting", []string{"--maxmemory-policy", "allkeys-lru"},
			store.Settings{MaxmemoryPolicy: "allkeys-lru", AppendOnly: "no", AppendFsync: "everysec"}, false, "whenever Redis restarts"},
		// Managed Redis often disables CONFIG: INFO still tells the policy and whether
		// AOF is on, not the rest.
		{"CONFIG disabled, AOF on", append([]string{"--appendonly", "yes"}, noConfig...),
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "yes"}, true, "appendfsync cannot be read"},
		{"CONFIG disabled, AOF off", noConfig,
			store.Settings{MaxmemoryPolicy: "noeviction", AppendOnly: "no"}, true, "since the last RDB snapshot, if Redis takes any"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.Dedicated(t, tc.args...)
			got, err := openURL(t, srv.URL()).ReadSettings(timeout(t))
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if (got.ConfigErr != nil) != tc.configErr {
				t.Errorf("%s: ConfigErr %v, want an error: %t", tc.name, got.ConfigErr, tc.configErr)
			}
			loss := got.Loss()
			got.ConfigErr = nil
			if got != tc.want {
				t.Errorf("%s: settings %+v, want %+v", tc.name, got, tc.want)
			}
			switch {
			case tc.wantLoss == "" && loss != "":
				t.Errorf("%s: loss %q, want none", tc.name, loss)
			case !strings.Contains(loss, tc.wantLoss):
				t.Errorf("%s: loss %q, want it to say %q", tc.name, loss, tc.wantLoss)
			}
		})
	}
}

func TestReadSettingsFailsWhenRedisIsDown(t *testing.T) {
	srv := redistest.Dedicated(t)
	r := openURL(t, srv.URL())
	srv.Stop()
	if s, err := r.ReadSettings(timeout(t)); err == nil {
		t.Fatalf("ReadSettings with Redis stopped: %+v, want an error", s)
	}
}

func TestReadSettingsOnEveryDeployment(t *testing.T) { conform(t, testReadSettingsOnEveryDeployment) }

// The test servers run with noeviction and without AOF or snapshots; on a
// Cluster the settings are the shard's that holds {mp}.
func testReadSettingsOnEveryDeployment(t *testing.T, b backend) {
	r := b.open(t)
	s, err := r.ReadSettings(timeout(t))
	if err != nil {
		t.Fatalf("read settings: %v", err)
	}
	if s.MaxmemoryPolicy != "noeviction" || s.AppendOnly != "no" || s.Save != "" || s.ConfigErr != nil {
		t.Errorf("settings %+v, want noeviction, appendonly no, no save, CONFIG readable", s)
	}
	if err := r.CheckEvictionPolicy(timeout(t)); err != nil {
		t.Errorf("check eviction: %v", err)
	}
}

// On a Cluster only the shard holding {mp} matters: a risky policy on the
// others is not mailproof's concern, and one on that shard is.
func TestReadSettingsReadsTheClusterShardOfMailproofsKeys(t *testing.T) {
	r := openURL(t, redistest.Cluster(t))
	c := r.Client().(*redis.ClusterClient)
	ours, err := c.MasterForKey(timeout(t), "mp:{mp}:jobs")
	if err != nil {
		t.Fatal(err)
	}
	setPolicy := func(only func(m *redis.Client) bool, policy string) {
		t.Helper()
		// Not the test's context: the cleanup runs after it is cancelled.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			if !only(m) {
				return nil
			}
			return m.ConfigSet(ctx, "maxmemory-policy", policy).Err()
		})
		if err != nil {
			t.Fatalf("config set %s: %v", policy, err)
		}
	}
	all := func(*redis.Client) bool { return true }
	t.Cleanup(func() { setPolicy(all, "noeviction") }) // the Cluster is shared by the package's tests
	isOurs := func(m *redis.Client) bool { return m.Options().Addr == ours.Options().Addr }

	setPolicy(func(m *redis.Client) bool { return !isOurs(m) }, "allkeys-lru")
	if err := r.CheckEvictionPolicy(timeout(t)); err != nil {
		t.Errorf("other shards evict: %v, want nil", err)
	}
	setPolicy(isOurs, "allkeys-lru")
	setPolicy(func(m *redis.Client) bool { return !isOurs(m) }, "noeviction")
	if err := r.CheckEvictionPolicy(timeout(t)); !errors.Is(err, store.ErrEvictionPolicy) {
		t.Errorf("the {mp} shard evicts: %v, want ErrEvictionPolicy", err)
	}
}
