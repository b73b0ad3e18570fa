package proof

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// TestWorkerDefersRateLimitsWithoutUsingAttempts: 429s are Auth0 asking us to wait, not
// the job failing; more of them than MaxAttempts must not dead-letter the login.
func TestWorkerDefersRateLimitsWithoutUsingAttempts(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxAttempts = 2 }, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Status: http.StatusTooManyRequests, Times: 3})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	h.start(h.worker())

	h.waitStatus(u.ID, store.StatusVerified)

	// Three deferrals are one episode: one entry when it started, the count on the
	// entry that ended it.
	if got, want := h.outcomes(u.ID), []string{store.AuditDeferred, OutcomeVerified}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	} else if trail := h.trail(u.ID); trail[0].DeferReason != string(DeferRateLimited) ||
		trail[1].Deferrals != 3 || trail[1].DeferReason != string(DeferRateLimited) {
		t.Errorf("audit %+v, want the deferred entry with reason %s and verified with 3 deferrals (%[2]s)", trail, DeferRateLimited)
	}
	if dead, err := h.rdb.ListDLQ(t.Context(), 10); err != nil || len(dead) != 0 {
		t.Errorf("%d dead letters, %v; want none", len(dead), err)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

// TestWorkerWaitsForAnotherEventOfTheUser: a second login queued while the first holds
// the user's lock waits for it, however long, without burning attempts, then proceeds.
func TestWorkerWaitsForAnotherEventOfTheUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) {
		c.MaxAttempts = 2
		c.VisibilityTimeout = time.Minute // the first event's holder must not be reclaimed here
	}, auth0test.Config{})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	first := h.read("slow-replica")
	if _, ok, err := h.rdb.Claim(t.Context(), u.ID, first.Owner()); !ok || err != nil {
		t.Fatalf("claim for the first event: %v, %v", ok, err)
	}
	h.enqueue(h.loginEvent(u))
	reg := prometheus.NewRegistry()
	w := newWorker(h.cfg, h.rdb, h.a0, h.log, reg, time.Now)
	w.busyDelay = func() time.Duration { return 10 * time.Millisecond }
	h.start(w)
	busy := func() int {
		return int(counterValue(w.metrics.attempts.WithLabelValues(string(DeferUserBusy))))
	}

	// Twice as many waits as attempts allowed: before deferral this was a dead letter.
	h.waitFor("the second event to wait repeatedly", func() (bool, string) {
		n := busy()
		return n >= 2*h.cfg.MaxAttempts, fmt.Sprintf("%d deferrals, audit %q", n, h.outcomes(u.ID))
	})
	// The first event ends without a flip and releases the lock: the waiting login is
	// the proof left to act on.
	if err := h.rdb.Finish(t.Context(), first, store.Outcome{Code: OutcomeWrongMethod}); err != nil {
		t.Fatalf("finish the first event: %v", err)
	}
	h.waitStatus(u.ID, store.StatusVerified)

	// No retry or dead letter: waiting for a neighbour is not a failure. And however
	// many times it waited, the second event wrote one deferred entry.
	if got, want := h.outcomes(u.ID), []string{store.AuditDeferred, OutcomeWrongMethod, OutcomeVerified}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	} else if end, n := h.trail(u.ID)[2], busy(); end.Deferrals != n || end.DeferReason != string(DeferUserBusy) {
		t.Errorf("verified entry with %d deferrals (%q), want every one counted: %d (%s)", end.Deferrals, end.DeferReason, n, DeferUserBusy)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

// TestWorkerDeadLettersJobsDeferredTooLong: deferral is bounded by the job's age, so a
// job never waits forever.
func TestWorkerDeadLettersJobsDeferredTooLong(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	u := h.provision("ada")
	if _, ok, err := h.rdb.Claim(t.Context(), u.ID, "an-event-that-never-ends"); !ok || err != nil {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	h.enqueue(h.loginEvent(u))
	// The worker's clock says the job was enqueued more than maxDeferAge ago.
	w := newWorker(h.cfg, h.rdb, h.a0, h.log, prometheus.NewRegistry(), func() time.Time { return time.Now().Add(maxDeferAge + time.Minute) })
	h.start(w)

	var dead []store.DeadJob
	h.waitFor("a dead letter", func() (bool, string) {
		var err error
		dead, err = h.rdb.ListDLQ(t.Context(), 10)
		return err == nil && len(dead) > 0, fmt.Sprintf("%d dead letters, %v", len(dead), err)
	})
	if d := dead[0]; len(dead) != 1 || !strings.Contains(d.Error, "still deferred (user_busy)") || d.Job.Attempt != 1 {
		t.Errorf("%d dead letters, first attempt %d error %q; want one, attempt 1, saying how long it was deferred", len(dead), d.Job.Attempt, d.Error)
	}
	if got, want := h.outcomes(u.ID), []string{store.AuditDeadLetter}; !slices.Equal(got, want) {
		t.Errorf("audit %q, want %q", got, want)
	}
}

// TestWorkerDropsJobsWithoutUser: a job without a user id (a replayed dead letter of an
// undecodable delayed job) can be neither finished nor dead-lettered; it is acknowledged,
// dropped and audited instead of being reclaimed forever.
func TestWorkerDropsJobsWithoutUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.VisibilityTimeout = time.Second }, auth0test.Config{})
	if err := h.rdb.EnsureGroup(t.Context()); err != nil {
		t.Fatalf("ensure group: %v", err)
	}
	if err := h.rdb.Client().XAdd(t.Context(), &redis.XAddArgs{Stream: "mp:{mp}:jobs", Values: []any{
		"user_id", "", "webhook_id", "", "payload", "not json", "attempt", "1", "enqueued_at", "0",
	}}).Err(); err != nil {
		t.Fatalf("xadd: %v", err)
	}
	h.start(h.worker())

	h.waitFor("the malformed job in the audit trail", func() (bool, string) {
		entries, err := h.rdb.Audit(t.Context(), "", 10)
		return err == nil && len(entries) == 1 && entries[0].Outcome == store.AuditMalformed, fmt.Sprintf("audit %+v, %v", entries, err)
	})
	h.waitFor("an empty queue", h.queueEmpty)
	if dead, err := h.rdb.ListDLQ(t.Context(), 10); err != nil || len(dead) != 0 {
		t.Errorf("%d dead letters, %v; want none", len(dead), err)
	}
}
