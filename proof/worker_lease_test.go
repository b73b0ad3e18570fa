package proof

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client/auth0test"
	"github.com/mailproof/mailproof/store"
)

// shortLease makes reclaims happen within seconds, while leaving an attempt ample time
// for its calls even on a loaded machine.
func shortLease(c *Config) { c.VisibilityTimeout = 2 * time.Second }

func TestWorkerReclaimAfterCrashDoesNotPatchAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shortLease, auth0test.Config{})
	u := h.provision("ada")
	webhookID := h.enqueue(h.loginEvent(u))

	// A replica takes the job and PATCHes, then dies before recording anything.
	crashed := h.worker()
	job := h.read(crashed.consumer)
	if d := crashed.proc.Process(t.Context(), job); d.Action != Ack || d.Outcome != OutcomeVerified {
		t.Fatalf("first attempt: %+v, want ack verified", d)
	}
	if rec := h.record(u.ID); rec.Status != store.StatusVerifying || rec.Holder != webhookID {
		t.Fatalf("record after the crash %s held by %q, want verifying held by %s", rec.Status, rec.Holder, webhookID)
	}

	// Another replica takes the job over once its lease has run out.
	h.start(h.worker())
	h.waitStatus(u.ID, store.StatusVerified)

	if n := h.apiCalls(http.MethodPatch, 0); n != 1 {
		t.Errorf("%d PATCH calls in total, want 1: the reclaiming replica must see the flag already set", n)
	}
	if n := h.apiCalls(http.MethodGet, 0); n != 2 {
		t.Errorf("%d GET calls, want 2 (one per attempt)", n)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeVerified}) {
		t.Errorf("audit %q, want [verified]", got)
	}
	h.waitFor("an empty queue", h.queueEmpty)
}

func TestWorkerStalledReplicaDoesNotRaceTheReclaimer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, shortLease, auth0test.Config{})
	// The reclaimer's PATCH is slow, so the stalled replica wakes up while it is in flight.
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Latency: 300 * time.Millisecond, Times: 1})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))

	stalled := h.worker()
	job := h.read(stalled.consumer)
	delivered := time.Now()
	h.start(h.worker())
	h.waitStatus(u.ID, store.StatusVerifying) // the other replica reclaimed the job and claimed the user

	stalled.handle(t.Context(), job, delivered) // the stalled replica resumes with its stale delivery

	h.waitStatus(u.ID, store.StatusVerified)
	if n := h.apiCalls(http.MethodPatch, 0); n != 1 {
		t.Errorf("%d PATCH calls, want 1: a replica whose lease ran out must not work on the job", n)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeVerified}) {
		t.Errorf("audit %q, want [verified]", got)
	}
}

func TestWorkerSameJobTwiceInOneReplica(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, auth0test.Config{})
	h.tenant.Inject(auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/users/", Latency: 200 * time.Millisecond, Times: 1})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	w := h.worker()
	job := h.read(w.consumer)

	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			<-start
			w.handle(t.Context(), job, time.Now())
		})
	}
	close(start)
	wg.Wait()

	if rec := h.record(u.ID); rec.Status != store.StatusVerified {
		t.Errorf("record %s, want verified", rec.Status)
	}
	if n := h.apiCalls(http.MethodPatch, 0); n != 1 {
		t.Errorf("%d PATCH calls, want 1", n)
	}
	if got := h.outcomes(u.ID); !slices.Equal(got, []string{OutcomeVerified}) {
		t.Errorf("audit %q, want [verified]", got)
	}
	if ok, state := h.queueEmpty(); !ok {
		t.Errorf("queue not empty: %s", state)
	}
}

func TestWorkerDeadLettersJobThatKeepsKillingWorkers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(c *Config) { c.MaxAttempts = 2 }, auth0test.Config{})
	u := h.provision("ada")
	h.enqueue(h.loginEvent(u))
	// Three replicas in turn take the job and die holding it.
	h.read("victim-1")
	var job store.Job
	for _, c := range []string{"victim-2", "victim-3"} {
		jobs, err := h.rdb.Reclaim(t.Context(), c, 0, 1)
		if err != nil || len(jobs) != 1 {
			t.Fatalf("reclaim as %s: %d jobs, %v", c, len(jobs), err)
		}
		job = jobs[0]
	}
	if job.Deliveries != 3 {
		t.Fatalf("deliveries %d, want 3", job.Deliveries)
	}

	h.worker().handle(t.Context(), job, time.Now())

	dead, err := h.rdb.ListDLQ(t.Context(), 10)
	if err != nil || len(dead) != 1 || !strings.Contains(dead[0].Error, "delivered 3 times") {
		t.Fatalf("dead letters %+v, %v; want one saying it was delivered 3 times", dead, err)
	}
	if n := h.apiCalls("", 0); n != 0 {
		t.Errorf("%d Management API calls, want none for a job that kills workers", n)
	}
	if rec := h.record(u.ID); rec.Status != store.StatusPending {
		t.Errorf("record %s, want pending", rec.Status)
	}
}
