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

// waitTimeout is the replica wait of these tests: short, so a wait that must fail
// fails fast.
const waitTimeout = 300 * time.Millisecond

func ingestReq(user, webhook string) store.IngestRequest {
	return store.IngestRequest{WebhookID: webhook, UserID: user, ReplayTTL: time.Minute, Payload: []byte(`{}`)}
}

// jobsOf counts the jobs queued for user on the master.
func jobsOf(t *testing.T, r *store.Redis, user string) int {
	t.Helper()
	msgs, err := r.Client().XRange(timeout(t), "mp:{mp}:jobs", "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Values["user_id"] == user {
			n++
		}
	}
	return n
}

// With MIN_REPLICAS=1 a write answers only once the replica has it; with the replica
// gone it fails with ErrReplicas within the caller's deadline, though the master
// applied it; and the retry of that event is safe: while the replica is still missing
// it fails again (never "duplicate" on an unconfirmed write), once the replica is back
// it answers duplicate, and the event is queued once. The worker's Finish behaves the
// same way: an unconfirmed Finish is an error, its retry after the replica came back
// succeeds and changes nothing.
func TestMinReplicasOnSentinel(t *testing.T) {
	t.Parallel() // its own processes
	set := redistest.DedicatedSentinel(t)
	var failures []string
	r := openURL(t, set.URL(), store.WithMinReplicas(1, waitTimeout), store.WithReplicaWaitFailures(func(w string) { failures = append(failures, w) }))
	if r.MinReplicas() != 1 {
		t.Fatalf("MinReplicas() = %d, want 1", r.MinReplicas())
	}
	replica := redis.NewClient(&redis.Options{Addr: set.Replica().Addr(), Protocol: 2})
	defer replica.Close()
	putPending(t, r, "auth0|a", time.Now())
	putPending(t, r, "auth0|b", time.Now())
	if err := r.Client().Do(timeout(t), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.ConnectedReplicas(timeout(t)); err != nil || n != 1 {
		t.Fatalf("ConnectedReplicas = %d, %v; want 1", n, err)
	}

	res, err := r.Ingest(timeout(t), ingestReq("auth0|a", "msg_a"))
	if err != nil || res.Status != store.IngestQueued {
		t.Fatalf("ingest with the replica up: %+v, %v; want queued", res, err)
	}
	// Confirmed means the replica has it now, not eventually.
	if n, err := replica.XLen(timeout(t), "mp:{mp}:jobs").Result(); err != nil || n != 1 {
		t.Fatalf("replica holds %d jobs (%v) right after a confirmed ingest, want 1", n, err)
	}

	set.Replica().Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = r.Ingest(ctx, ingestReq("auth0|b", "msg_b"))
	took := time.Since(start)
	var re *store.ReplicaError
	if !errors.Is(err, store.ErrReplicas) || !errors.As(err, &re) || re.Want != 1 || re.Acked != 0 || re.Write != "ingest" {
		t.Fatalf("ingest with the replica down: %v; want a ReplicaError for ingest, 0 of 1", err)
	}
	if took > time.Second {
		t.Errorf("the failed wait took %s, past the caller's 1s deadline", took)
	}
	if jobsOf(t, r, "auth0|b") != 1 {
		t.Fatalf("the master did not apply the unconfirmed ingest; the test's premise fails")
	}
	// The retry while the replica is still gone: not an answer of duplicate for a
	// write no replica has.
	if res, err := r.Ingest(timeout(t), ingestReq("auth0|b", "msg_b")); !errors.Is(err, store.ErrReplicas) {
		t.Fatalf("retry with the replica still down: %+v, %v; want ErrReplicas", res, err)
	}

	set.Replica().Start() // comes back empty, as a replica, and resyncs
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err = r.Ingest(timeout(t), ingestReq("auth0|b", "msg_b"))
		if err == nil || !errors.Is(err, store.ErrReplicas) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || res.Status != store.IngestDuplicate {
		t.Fatalf("retry after the replica came back: %+v, %v; want duplicate", res, err)
	}
	if n := jobsOf(t, r, "auth0|b"); n != 1 {
		t.Errorf("auth0|b has %d jobs after the retries, want 1", n)
	}
	if n, err := replica.XLen(timeout(t), "mp:{mp}:jobs").Result(); err != nil || n != 2 {
		t.Errorf("replica holds %d jobs (%v) after the confirmed duplicate, want 2", n, err)
	}

	// The worker's outcome.
	if err := r.EnsureGroup(timeout(t)); err != nil {
		t.Fatal(err)
	}
	jobs, err := r.Read(timeout(t), "w1", 10, 0)
	if err != nil || len(jobs) != 2 {
		t.Fatalf("read %d jobs, %v; want 2", len(jobs), err)
	}
	set.Replica().Pause() // connected but silent: acknowledges nothing
	err = r.Finish(timeout(t), jobs[0], store.Outcome{Code: store.OutcomeVerified, Close: true})
	set.Replica().Resume()
	if !errors.As(err, &re) || re.Write != "finish" {
		t.Fatalf("finish with the replica frozen: %v; want a ReplicaError for finish", err)
	}
	if err := r.Finish(timeout(t), jobs[0], store.Outcome{Code: store.OutcomeVerified, Close: true}); err != nil {
		t.Fatalf("finish again with the replica back: %v", err)
	}
	if len(failures) < 3 || failures[0] != "ingest" || failures[len(failures)-1] != "finish" {
		t.Errorf("wait failures reported %q, want ingest ones then finish", failures)
	}
}

// A duplicate on a connection that wrote nothing before still waits for the first
// delivery's write: an answer of duplicate claims the event is safely queued. Redis
// 7.0 (the one CI runs) sets a connection's WAIT offset on any command, so there this
// holds with or without the fence; on versions that set it only on a propagated write,
// the fence (runScript) is what makes it hold.
func TestMinReplicasDuplicateOnFreshConnectionWaits(t *testing.T) {
	t.Parallel()
	set := redistest.DedicatedSentinel(t)
	r := openURL(t, set.URL(), store.WithMinReplicas(1, waitTimeout))
	putPending(t, r, "auth0|c", time.Now())
	if err := r.Client().Do(timeout(t), "WAIT", 1, 5000).Err(); err != nil {
		t.Fatal(err)
	}
	set.Replica().Pause()
	defer set.Replica().Resume()
	if _, err := r.Ingest(timeout(t), ingestReq("auth0|c", "msg_c")); !errors.Is(err, store.ErrReplicas) {
		t.Fatalf("ingest with the replica frozen: %v; want ErrReplicas", err)
	}
	fresh := openURL(t, set.URL(), store.WithMinReplicas(1, waitTimeout))
	if res, err := fresh.Ingest(timeout(t), ingestReq("auth0|c", "msg_c")); !errors.Is(err, store.ErrReplicas) {
		t.Fatalf("duplicate on a fresh connection with the replica frozen: %+v, %v; want ErrReplicas", res, err)
	}
}

// A single node has no replica: every acknowledging write fails, and says what to check.
func TestMinReplicasWithoutReplicas(t *testing.T) {
	r := openURL(t, redistest.Dedicated(t).URL(), store.WithMinReplicas(1, waitTimeout))
	putPending(t, r, "auth0|d", time.Now())
	_, err := r.Ingest(timeout(t), ingestReq("auth0|d", "msg_d"))
	if !errors.Is(err, store.ErrReplicas) {
		t.Fatalf("ingest: %v; want ErrReplicas", err)
	}
	for _, want := range []string{"0 of 1 replicas", "INFO replication"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if n, err := r.ConnectedReplicas(timeout(t)); err != nil || n != 0 {
		t.Errorf("ConnectedReplicas = %d, %v; want 0", n, err)
	}
}

// The Cluster: the write and its WAIT go to the master of {mp} on one connection.
func TestMinReplicasOnCluster(t *testing.T) {
	r := openURL(t, redistest.Cluster(t), store.WithMinReplicas(1, time.Second))
	putPending(t, r, "auth0|e", time.Now())
	if res, err := r.Ingest(timeout(t), ingestReq("auth0|e", "msg_e")); err != nil || res.Status != store.IngestQueued {
		t.Fatalf("ingest on the Cluster: %+v, %v; want queued", res, err)
	}
	if n, err := r.ConnectedReplicas(timeout(t)); err != nil || n != 1 {
		t.Errorf("ConnectedReplicas = %d, %v; want 1", n, err)
	}
}
