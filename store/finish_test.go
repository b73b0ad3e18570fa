package store_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailproof/mailproof/store"
)

func TestFinishTransitions(t *testing.T) { conform(t, testFinishTransitions) }

func testFinishTransitions(t *testing.T, b backend) {
	const user = "auth0|1"
	tests := []struct {
		name        string
		setup       string // record state before Finish: pending, mine, other, verified, closed, none
		outcome     store.Outcome
		wantStatus  string // "" = no record
		wantOutcome string
		wantIndexed bool
	}{
		{"verified from pending", "pending", store.Outcome{Code: "verified", Close: true}, store.StatusVerified, "verified", false},
		{"verified from own lock", "mine", store.Outcome{Code: "verified", Close: true}, store.StatusVerified, "verified", false},
		{"verified while another job holds the lock", "other", store.Outcome{Code: "verified", Close: true}, store.StatusVerified, "verified", false},
		{"verify after close keeps closed", "closed", store.Outcome{Code: "verified", Close: true}, store.StatusClosed, "user_not_found", false},
		{"close pending", "pending", store.Outcome{Code: "already_verified", Close: true}, store.StatusClosed, "already_verified", false},
		{"close own lock", "mine", store.Outcome{Code: "user_not_found", Close: true}, store.StatusClosed, "user_not_found", false},
		{"no close under another job's lock", "other", store.Outcome{Code: "already_verified", Close: true}, store.StatusVerifying, "", true},
		{"no close after verified", "verified", store.Outcome{Code: "already_verified", Close: true}, store.StatusVerified, "verified", false},
		{"keep pending", "pending", store.Outcome{Code: "wrong_method"}, store.StatusPending, "", true},
		{"keep releases own lock", "mine", store.Outcome{Code: "changed_since_event"}, store.StatusPending, "", true},
		{"keep leaves another job's lock", "other", store.Outcome{Code: "email_changed"}, store.StatusVerifying, "", true},
		{"record deleted meanwhile", "none", store.Outcome{Code: "verified", Close: true}, "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := b.open(t, store.WithRetention(time.Hour))
			putPending(t, r, user, time.Now())
			enqueue(t, r, user, "w1")
			j := readOne(t, r, "c1")
			switch tc.setup {
			case "mine":
				mustClaim(t, r, user, j.Owner(), true)
			case "other":
				mustClaim(t, r, user, "another-event", true)
			case "verified":
				finishUser(t, r, user, store.Outcome{Code: "verified", Close: true})
			case "closed":
				finishUser(t, r, user, store.Outcome{Code: "user_not_found", Close: true})
			case "none":
				if _, err := r.DeletePending(timeout(t), user); err != nil {
					t.Fatalf("delete: %v", err)
				}
			}

			if err := r.Finish(timeout(t), j, tc.outcome); err != nil {
				t.Fatalf("finish: %v", err)
			}

			rec, err := r.Get(timeout(t), user)
			switch {
			case tc.wantStatus == "" && !errors.Is(err, store.ErrNotFound):
				t.Errorf("%s: get: %+v, %v; want ErrNotFound", tc.name, rec, err)
			case tc.wantStatus != "" && err != nil:
				t.Fatalf("%s: get: %v", tc.name, err)
			case rec.Status != tc.wantStatus || rec.Outcome != tc.wantOutcome:
				t.Errorf("%s: status %q outcome %q, want %q %q", tc.name, rec.Status, rec.Outcome, tc.wantStatus, tc.wantOutcome)
			}
			if tc.wantStatus == store.StatusVerified || tc.wantStatus == store.StatusClosed {
				// Kept the 1h retention from when it ended, then tidied away.
				wantEndOfLife(t, r, user, rec.UpdatedAt.Add(time.Hour))
			}
			score, err := r.Client().ZScore(timeout(t), store.PendingIndexKey(user), user).Result()
			if indexed := err == nil && score > 0; indexed != tc.wantIndexed {
				t.Errorf("%s: indexed %v, want %v", tc.name, indexed, tc.wantIndexed)
			}
			if n := streamLen(t, r, "mp:{mp}:jobs"); n != 0 {
				t.Errorf("%s: %d jobs left on the stream, want 0 (acked and deleted)", tc.name, n)
			}
			audit, err := r.Audit(timeout(t), user, 1)
			if err != nil || len(audit) != 1 {
				t.Fatalf("%s: audit: %d entries, %v", tc.name, len(audit), err)
			}
			a := audit[0]
			if a.Outcome != tc.outcome.Code || a.JobID != j.ID || a.WebhookID != "w1" || a.Attempt != 1 || a.UserID != user || a.Time.IsZero() {
				t.Errorf("%s: audit entry %+v, want outcome %q for job %s", tc.name, a, tc.outcome.Code, j.ID)
			}
		})
	}
}

func mustClaim(t *testing.T, r *store.Redis, user, owner string, want bool) {
	t.Helper()
	rec, got, err := r.Claim(timeout(t), user, owner)
	if err != nil || got != want {
		t.Fatalf("claim %s by %s: %v, %v; want %v", short(user), owner, got, err, want)
	}
	// The record comes back as it is after the attempt.
	if rec.UserID != user || rec.Status != store.StatusVerifying || (want && rec.Holder != owner) {
		t.Fatalf("claim %s by %s returned %+v, want it verifying (held by the winner)", short(user), owner, rec)
	}
}

func TestDoubleFinishIsNoop(t *testing.T) { conform(t, testDoubleFinishIsNoop) }

func testDoubleFinishIsNoop(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	enqueue(t, r, "auth0|1", "w1")
	j := readOne(t, r, "c1")
	mustClaim(t, r, "auth0|1", j.Owner(), true)
	if err := r.Finish(timeout(t), j, store.Outcome{Code: "verified", Close: true}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	// The record is replaced (provisioned again); a stale second Finish of
	// the same job must neither verify nor audit anything.
	putPending(t, r, "auth0|1", time.Now())
	if err := r.Finish(timeout(t), j, store.Outcome{Code: "verified", Close: true}); err != nil {
		t.Fatalf("second finish: %v", err)
	}
	rec, _ := r.Get(timeout(t), "auth0|1")
	if rec.Status != store.StatusPending {
		t.Errorf("status %q after a second Finish, want pending", rec.Status)
	}
	if n := streamLen(t, r, "mp:{mp}:audit"); n != 1 {
		t.Errorf("%d audit entries, want 1", n)
	}
}

func TestFinishValidates(t *testing.T) { conform(t, testFinishValidates) }

func testFinishValidates(t *testing.T, b backend) {
	r := b.open(t)
	good := store.Job{ID: "1-1", UserID: "u", WebhookID: "w"}
	tests := []struct {
		name    string
		job     store.Job
		outcome store.Outcome
	}{
		{"no job id", store.Job{UserID: "u"}, store.Outcome{Code: "verified", Close: true}},
		{"no user id", store.Job{ID: "1-1"}, store.Outcome{Code: "verified", Close: true}},
		{"no outcome code", good, store.Outcome{Close: true}},
	}
	for _, tc := range tests {
		if err := r.Finish(timeout(t), tc.job, tc.outcome); err == nil {
			t.Errorf("%s: nil error, want one", tc.name)
		}
	}
}

func TestClaim(t *testing.T) { conform(t, testClaim) }

func testClaim(t *testing.T, b backend) {
	r := b.open(t)
	putPending(t, r, "auth0|1", time.Now())
	mustClaim(t, r, "auth0|1", "w1", true)
	mustClaim(t, r, "auth0|1", "w1", true) // the same job again, e.g. after a reclaim
	mustClaim(t, r, "auth0|1", "w2", false)
	if _, _, err := r.Claim(timeout(t), "auth0|nobody", "w1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("claim without record: %v, want ErrNotFound", err)
	}
	rec, _ := r.Get(timeout(t), "auth0|1")
	if rec.Status != store.StatusVerifying || rec.Holder != "w1" {
		t.Errorf("record %q by %q, want verifying by w1", rec.Status, rec.Holder)
	}
}

// TestConcurrentClaims races many jobs for one user, over and over: exactly
// one wins each round.
func TestConcurrentClaims(t *testing.T) { conform(t, testConcurrentClaims) }

func testConcurrentClaims(t *testing.T, b backend) {
	r := b.open(t)
	for round := range 20 {
		user := fmt.Sprintf("auth0|%d", round)
		putPending(t, r, user, time.Now())
		var wins atomic.Int32
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				_, ok, err := r.Claim(timeout(t), user, fmt.Sprintf("w%d", g))
				if err != nil {
					t.Errorf("claim: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Errorf("round %d: %d claims won, want exactly 1", round, n)
		}
	}
}
