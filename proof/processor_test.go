package proof

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/store"
)

// fakeClaims is the store as Process sees it: one record, and a claim that succeeds
// unless told otherwise.
type fakeClaims struct {
	rec      store.Record
	getErr   error
	refuse   bool
	claimErr error
	claims   []string      // holders, in order
	claimed  *store.Record // what Claim finds, when the record changed after Get

	scheduleErr error
	scheduled   []store.Undo
	due         []store.Undo
	done        []string
	failed      []string
}

func (f *fakeClaims) Get(context.Context, string) (store.Record, error) {
	if f.getErr != nil {
		return store.Record{}, f.getErr
	}
	return f.rec, nil
}

func (f *fakeClaims) Claim(_ context.Context, _, holder string) (store.Record, bool, error) {
	f.claims = append(f.claims, holder)
	if f.claimErr != nil {
		return store.Record{}, false, f.claimErr
	}
	if f.claimed != nil {
		return *f.claimed, !f.refuse, nil
	}
	return f.rec, !f.refuse, nil
}

// The store's undo list as Process sees it: what was scheduled and finished.
func (f *fakeClaims) ScheduleUndo(_ context.Context, u store.Undo, _ time.Duration) (int, error) {
	f.scheduled = append(f.scheduled, u)
	return 1, f.scheduleErr
}

func (f *fakeClaims) TakeDueUndos(context.Context, time.Duration, int) ([]store.Undo, error) {
	due := f.due
	f.due = nil
	return due, nil
}

func (f *fakeClaims) UndoFailed(_ context.Context, u store.Undo, _ time.Time, _ string) error {
	f.failed = append(f.failed, u.UserID)
	return nil
}

func (f *fakeClaims) UndoDone(_ context.Context, userID string, _ int, _, _ string) (bool, error) {
	f.done = append(f.done, userID)
	return true, nil
}

// fakeManagement is the Management API: one user, and errors to answer with.
type fakeManagement struct {
	user             auth0client.User
	getErr, patchErr error
	// patched is what the PATCH answers with when set (an address changed under it);
	// otherwise the user, verified.
	patched     *auth0client.User
	unverifyErr error
	// unverifyIgnored makes the undo's answer still show email_verified true.
	unverifyIgnored           bool
	gets, patches, unverifies int
}

func (f *fakeManagement) GetUser(context.Context, string) (auth0client.User, error) {
	f.gets++
	return f.user, f.getErr
}

func (f *fakeManagement) VerifyEmail(context.Context, string) (auth0client.User, error) {
	f.patches++
	if f.patched != nil {
		return *f.patched, f.patchErr
	}
	u := f.user
	u.EmailVerified = true
	return u, f.patchErr
}

func (f *fakeManagement) UnverifyEmail(context.Context, string) (auth0client.User, error) {
	f.unverifies++
	u := f.user
	u.EmailVerified = f.unverifyIgnored
	return u, f.unverifyErr
}

// fakeSlots counts the slots taken and remembers the pauses asked for.
type fakeSlots struct {
	waitErr error
	waits   int
	pauses  []time.Time
}

func (f *fakeSlots) Wait(ctx context.Context) error { return f.WaitN(ctx, 1) }

func (f *fakeSlots) WaitN(_ context.Context, n int) error {
	f.waits += n
	return f.waitErr
}

func (f *fakeSlots) Pause(_ context.Context, until time.Time) error {
	f.pauses = append(f.pauses, until)
	return nil
}

func TestProcessDecisions(t *testing.T) {
	reset := time.Date(2026, 11, 24, 10, 16, 0, 0, time.UTC)
	apiErr := func(kind error) error { return fmt.Errorf("get user: %w: status text", kind) }
	tests := []struct {
		name  string
		setup func(ev *event.PostLogin, job *store.Job, r *fakeClaims, u *fakeManagement, b *fakeSlots)

		want           Decision // Err is only checked for being set
		wantErrIs      error
		wantGets       int
		wantPatches    int
		wantUnverifies int
		wantClaims     []string
	}{
		{name: "eligible login flips", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"}},
		{name: "record registered again between read and claim", want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset},
			wantClaims: []string{"msg_a"},
			setup: func(ev *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				again := r.rec
				again.ProvisionedAt = ev.Data.User.LastPasswordReset.Add(time.Minute)
				r.claimed = &again
			}},
		{name: "record removed between read and claim", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.claimErr = fmt.Errorf("claim: %w", store.ErrNotFound)
			}},
		{name: "undecodable payload", want: Decision{Action: DeadLetter},
			setup: func(_ *event.PostLogin, j *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				j.Payload = []byte(`{"type":`)
			}},
		{name: "no pending record", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.getErr = fmt.Errorf("get record: %w", store.ErrNotFound)
			}},
		{name: "redis unavailable", want: Decision{Action: Retry},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.getErr = errors.New("dial tcp: connection refused")
			}},
		{name: "record already verified", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusVerified
			}},
		{name: "record closed", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusClosed
			}},
		{name: "record expired", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusExpired
			}},
		{name: "another event is verifying the user", want: Decision{Action: Retry, Defer: DeferUserBusy},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_other"
			}},
		{name: "event says already verified", want: Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			setup: func(ev *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.EmailVerified = true
			}},
		{name: "event email differs", want: Decision{Action: Ack, Outcome: OutcomeEmailChanged, Close: true},
			setup: func(ev *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.Email = "mallory@example.net"
			}},
		{name: "social login", want: Decision{Action: Ack, Outcome: OutcomeWrongConnection},
			setup: func(ev *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.Connection.Strategy = "google-oauth2"
			}},
		{name: "passkey login", want: Decision{Action: Ack, Outcome: OutcomeWrongMethod},
			setup: func(ev *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.Authentication.Methods = []event.AuthMethod{{Name: "passkey"}}
			}},
		{name: "no password reset", want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset},
			setup: func(ev *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.LastPasswordReset = nil
			}},
		{name: "claim refused", want: Decision{Action: Retry, Defer: DeferUserBusy}, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.refuse = true
			}},
		{name: "claim fails", want: Decision{Action: Retry}, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.claimErr = errors.New("i/o timeout")
			}},
		{name: "budget wait timed out", want: Decision{Action: Retry, Defer: DeferBudget}, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, b *fakeSlots) {
				b.waitErr = context.DeadlineExceeded
			}},
		{name: "budget unavailable", want: Decision{Action: Retry}, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, _ *fakeManagement, b *fakeSlots) {
				b.waitErr = errors.New("rate limit: connection refused")
			}},
		{name: "verified in Auth0 meanwhile", want: Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.EmailVerified = true
			}},
		{name: "resumed after a PATCH whose attempt died", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder, u.user.EmailVerified = store.StatusVerifying, "msg_a", true
			}},
		{name: "resumed before the PATCH landed", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_a"
			}},
		{name: "email changed in Auth0 meanwhile", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Email = "ada@example.org"
			}},
		{name: "Auth0 email differs only in case", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Email = "Ada@Example.com"
			}},
		{name: "Auth0 email now spells kate with a Kelvin sign", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(ev *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				ev.Data.User.Email, r.rec.Email, u.user.Email = "kate@example.com", "kate@example.com", "\u212Aate@example.com"
			}},
		{name: "moved to another connection meanwhile", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Connection = "Legacy-Users"
			}},
		{name: "user deleted", want: Decision{Action: Ack, Outcome: OutcomeUserNotFound, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = apiErr(auth0client.ErrUserNotFound)
			}},
		{name: "user deleted just before the PATCH", want: Decision{Action: Ack, Outcome: OutcomeUserNotFound, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrUserNotFound)
			}},
		{name: "rate limited reading", want: Decision{Action: Retry, Defer: DeferRateLimited, NotBefore: reset}, wantErrIs: auth0client.ErrRateLimited,
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = fmt.Errorf("get user: %w", &auth0client.RateLimitError{Reset: reset})
			}},
		{name: "rate limited patching", want: Decision{Action: Retry, Defer: DeferRateLimited, NotBefore: reset}, wantErrIs: auth0client.ErrRateLimited,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = fmt.Errorf("verify email: %w", &auth0client.RateLimitError{Reset: reset})
			}},
		{name: "server error", want: Decision{Action: Retry, MayHaveFlipped: true}, wantErrIs: auth0client.ErrTransient,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrTransient)
			}},
		{name: "credentials refused", want: Decision{Action: Retry}, wantErrIs: auth0client.ErrUnauthorized,
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = apiErr(auth0client.ErrUnauthorized)
			}},
		{name: "request rejected", want: Decision{Action: DeadLetter}, wantErrIs: auth0client.ErrPermanent,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrPermanent)
			}},
		{name: "address changed between the read and the PATCH: taken back at once",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoDone},
			wantGets: 1, wantPatches: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patched = landedElsewhere(u.user)
			}},
		{name: "address changed during the flip, the undo fails: listed for the loop",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoFailed},
			wantGets: 1, wantPatches: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patched, u.unverifyErr = landedElsewhere(u.user), apiErr(auth0client.ErrTransient)
			}},
		{name: "address changed during the flip, the undo's answer still verified: listed for the loop",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoFailed},
			wantGets: 1, wantPatches: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patched, u.unverifyIgnored = landedElsewhere(u.user), true
			}},
		{name: "address changed during the flip, Redis cannot list the undo: taken back anyway",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoDone},
			wantGets: 1, wantPatches: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patched, r.scheduleErr = landedElsewhere(u.user), errors.New("connection refused")
			}},
		{name: "address changed during the flip, neither listed nor undone: the job stays",
			want:     Decision{Action: Retry, MayHaveFlipped: true},
			wantGets: 1, wantPatches: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patched, r.scheduleErr, u.unverifyErr = landedElsewhere(u.user), errors.New("connection refused"), apiErr(auth0client.ErrTransient)
			}},
		{name: "resumed and verified on another address: an earlier PATCH may have landed there",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoDone},
			wantGets: 1, wantUnverifies: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_a"
				u.user.Email, u.user.EmailVerified = "attacker@evil.example", true
			}},
		{name: "resumed, the read fails: a dead letter must leave a check",
			want:      Decision{Action: Retry, MayHaveFlipped: true},
			wantErrIs: auth0client.ErrTransient, wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_a"
				u.getErr = apiErr(auth0client.ErrTransient)
			}},
		{name: "not resumed and verified on another address: not ours to touch",
			want:     Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *event.PostLogin, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Email, u.user.EmailVerified = "kate@new.example", true
			}},
		{name: "job without a webhook id holds the lock as its job id", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"1700000000000-0"},
			setup: func(_ *event.PostLogin, j *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				j.WebhookID = ""
			}},
	}
	for _, tc := range tests {
		ev := loadEvent(t, "first-login-after-reset.json")
		job := store.Job{ID: "1700000000000-0", UserID: ev.Data.User.UserID, WebhookID: "msg_a", Attempt: 1}
		recs := &fakeClaims{rec: provisioned()}
		users := &fakeManagement{user: auth0client.User{ID: ev.Data.User.UserID, Email: "ada@example.com",
			Connection: "Username-Password-Authentication", DatabaseConnection: true}}
		budget := &fakeSlots{}
		if tc.setup != nil {
			tc.setup(ev, &job, recs, users, budget)
		}
		if job.Payload == nil {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			job.Payload = b
		}
		p := &Processor{Records: recs, Users: users, Budget: budget, Undos: recs, Log: zaptest.NewLogger(t)}

		got := p.Process(t.Context(), job)

		if got.Action != tc.want.Action || got.Outcome != tc.want.Outcome || got.Close != tc.want.Close || !got.NotBefore.Equal(tc.want.NotBefore) || got.Defer != tc.want.Defer {
			t.Errorf("%s: decision action %d outcome %q close %v not before %v defer %q, want %d %q %v %v %q (err %v)", tc.name,
				got.Action, got.Outcome, got.Close, got.NotBefore, got.Defer, tc.want.Action, tc.want.Outcome, tc.want.Close, tc.want.NotBefore, tc.want.Defer, got.Err)
		}
		if got.Undo != tc.want.Undo || got.MayHaveFlipped != tc.want.MayHaveFlipped {
			t.Errorf("%s: undo %q may have flipped %v, want %q %v", tc.name, got.Undo, got.MayHaveFlipped, tc.want.Undo, tc.want.MayHaveFlipped)
		}
		if users.unverifies != tc.wantUnverifies {
			t.Errorf("%s: %d undo PATCHes, want %d", tc.name, users.unverifies, tc.wantUnverifies)
		}
		if wantListed := tc.wantUnverifies; len(recs.scheduled) != wantListed || len(recs.done) != min(wantListed, btoi(tc.want.Undo == UndoDone && recs.scheduleErr == nil)) {
			t.Errorf("%s: undos listed %v and finished %v, want %d listed, finished only when done", tc.name, recs.scheduled, recs.done, wantListed)
		}
		if wantErr := tc.want.Action != Ack; (got.Err != nil) != wantErr {
			t.Errorf("%s: error %v, want an error: %v", tc.name, got.Err, wantErr)
		}
		if tc.wantErrIs != nil && !errors.Is(got.Err, tc.wantErrIs) {
			t.Errorf("%s: error %v, want one matching %v", tc.name, got.Err, tc.wantErrIs)
		}
		if users.gets != tc.wantGets || users.patches != tc.wantPatches {
			t.Errorf("%s: %d reads and %d PATCHes, want %d and %d", tc.name, users.gets, users.patches, tc.wantGets, tc.wantPatches)
		}
		// The read and the PATCH take their slots together, before the read; an undo is
		// made at once, outside the budget.
		if wantSlots := 2 * btoi(users.gets > 0 || budget.waitErr != nil); budget.waits != wantSlots {
			t.Errorf("%s: %d budget slots for %d reads and %d PATCHes, want %d taken before the read", tc.name, budget.waits, users.gets, users.patches, wantSlots)
		}
		if !slices.Equal(recs.claims, tc.wantClaims) {
			t.Errorf("%s: claims by %q, want %q", tc.name, recs.claims, tc.wantClaims)
		}
		if wantPause := !tc.want.NotBefore.IsZero(); wantPause != slices.Equal(budget.pauses, []time.Time{tc.want.NotBefore}) {
			t.Errorf("%s: pauses %v, want a shared pause until %v: %v", tc.name, budget.pauses, tc.want.NotBefore, wantPause)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestRunDueUndos(t *testing.T) {
	const uid = "auth0|6560c1f2e4b0a1b2c3d4e5f6"
	tests := []struct {
		name           string
		undo           store.Undo
		user           auth0client.User // as Auth0 has it before the undo
		unverifyErr    error
		wantGets       int
		wantUnverifies int
		wantDone       bool
	}{
		{name: "a listed undo is made", undo: store.Undo{UserID: uid, Attempts: 1},
			user: auth0client.User{ID: uid, Email: "attacker@evil.example", EmailVerified: true}, wantUnverifies: 1, wantDone: true},
		{name: "a failing undo stays listed", undo: store.Undo{UserID: uid, Attempts: 3},
			user:        auth0client.User{ID: uid, Email: "attacker@evil.example", EmailVerified: true},
			unverifyErr: fmt.Errorf("undo: %w", auth0client.ErrTransient), wantUnverifies: 1},
		{name: "a user deleted since is done", undo: store.Undo{UserID: uid, Attempts: 1},
			unverifyErr: fmt.Errorf("undo: %w", auth0client.ErrUserNotFound), wantUnverifies: 1, wantDone: true},
		{name: "check: unverified, nothing to take back", undo: store.Undo{UserID: uid, Check: true, Attempts: 1},
			user: auth0client.User{ID: uid, Email: "attacker@evil.example"}, wantGets: 1, wantDone: true},
		{name: "check: verified on the provisioned address is right", undo: store.Undo{UserID: uid, Check: true, Attempts: 1},
			user: auth0client.User{ID: uid, Email: "ada@example.com", EmailVerified: true}, wantGets: 1, wantDone: true},
		{name: "check: verified on another address is taken back", undo: store.Undo{UserID: uid, Check: true, Attempts: 1},
			user: auth0client.User{ID: uid, Email: "attacker@evil.example", EmailVerified: true}, wantGets: 1, wantUnverifies: 1, wantDone: true},
	}
	for _, tc := range tests {
		recs := &fakeClaims{rec: provisioned(), due: []store.Undo{tc.undo}}
		tc.user.Connection, tc.user.DatabaseConnection = provisioned().Connection, true
		users := &fakeManagement{user: tc.user, unverifyErr: tc.unverifyErr}
		budget := &fakeSlots{}
		p := &Processor{Records: recs, Users: users, Budget: budget, Undos: recs, Log: zaptest.NewLogger(t)}

		rep, err := p.RunDueUndos(t.Context())

		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if users.gets != tc.wantGets || users.unverifies != tc.wantUnverifies || users.patches != 0 {
			t.Errorf("%s: %d reads, %d undo PATCHes, %d flips; want %d, %d, 0", tc.name, users.gets, users.unverifies, users.patches, tc.wantGets, tc.wantUnverifies)
		}
		if budget.waits != users.gets+users.unverifies {
			t.Errorf("%s: %d budget slots for %d calls, want one per call", tc.name, budget.waits, users.gets+users.unverifies)
		}
		wantRep := UndoReport{Done: btoi(tc.wantDone), Failed: btoi(!tc.wantDone)}
		if rep != wantRep || len(recs.done) != wantRep.Done || len(recs.failed) != wantRep.Failed {
			t.Errorf("%s: report %+v, done %v, failed %v; want %+v", tc.name, rep, recs.done, recs.failed, wantRep)
		}
	}
}

// landedElsewhere is the PATCH answer when the address changed just before the write:
// the flag set on the new address.
func landedElsewhere(u auth0client.User) *auth0client.User {
	u.Email, u.EmailVerified = "attacker@evil.example", true
	return &u
}
