package handlers

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

// fakeManagement is the Management API: one user, and errors to answer with.
type fakeManagement struct {
	user             auth0client.User
	getErr, patchErr error
	gets, patches    int
}

func (f *fakeManagement) GetUser(context.Context, string) (auth0client.User, error) {
	f.gets++
	return f.user, f.getErr
}

func (f *fakeManagement) VerifyEmail(context.Context, string) (auth0client.User, error) {
	f.patches++
	return f.user, f.patchErr
}

// fakeSlots counts the slots taken and remembers the pauses asked for.
type fakeSlots struct {
	waitErr error
	waits   int
	pauses  []time.Time
}

func (f *fakeSlots) Wait(context.Context) error {
	f.waits++
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
		setup func(ev *PostLoginEvent, job *store.Job, r *fakeClaims, u *fakeManagement, b *fakeSlots)

		want        Decision // Err is only checked for being set
		wantErrIs   error
		wantGets    int
		wantPatches int
		wantClaims  []string
	}{
		{name: "eligible login flips", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"}},
		{name: "record registered again between read and claim", want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset},
			wantClaims: []string{"msg_a"},
			setup: func(ev *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				again := r.rec
				again.ProvisionedAt = ev.Data.User.LastPasswordReset.Add(time.Minute)
				r.claimed = &again
			}},
		{name: "record removed between read and claim", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.claimErr = fmt.Errorf("claim: %w", store.ErrNotFound)
			}},
		{name: "undecodable payload", want: Decision{Action: DeadLetter},
			setup: func(_ *PostLoginEvent, j *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				j.Payload = []byte(`{"type":`)
			}},
		{name: "no pending record", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.getErr = fmt.Errorf("get record: %w", store.ErrNotFound)
			}},
		{name: "redis unavailable", want: Decision{Action: Retry},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.getErr = errors.New("dial tcp: connection refused")
			}},
		{name: "record already verified", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusVerified
			}},
		{name: "record closed", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusClosed
			}},
		{name: "record expired", want: Decision{Action: Ack, Outcome: OutcomeNotPending},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status = store.StatusExpired
			}},
		{name: "another event is verifying the user", want: Decision{Action: Retry, Defer: DeferUserBusy},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_other"
			}},
		{name: "event says already verified", want: Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			setup: func(ev *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.EmailVerified = true
			}},
		{name: "event email differs", want: Decision{Action: Ack, Outcome: OutcomeEmailChanged, Close: true},
			setup: func(ev *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.Email = "mallory@example.net"
			}},
		{name: "social login", want: Decision{Action: Ack, Outcome: OutcomeWrongConnection},
			setup: func(ev *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.Connection.Strategy = "google-oauth2"
			}},
		{name: "passkey login", want: Decision{Action: Ack, Outcome: OutcomeWrongMethod},
			setup: func(ev *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.Authentication.Methods = []AuthMethod{{Name: "passkey"}}
			}},
		{name: "no password reset", want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset},
			setup: func(ev *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				ev.Data.User.LastPasswordReset = nil
			}},
		{name: "claim refused", want: Decision{Action: Retry, Defer: DeferUserBusy}, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) { r.refuse = true }},
		{name: "claim fails", want: Decision{Action: Retry}, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.claimErr = errors.New("i/o timeout")
			}},
		{name: "budget wait timed out", want: Decision{Action: Retry, Defer: DeferBudget}, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, b *fakeSlots) {
				b.waitErr = context.DeadlineExceeded
			}},
		{name: "budget unavailable", want: Decision{Action: Retry}, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, _ *fakeManagement, b *fakeSlots) {
				b.waitErr = errors.New("rate limit: connection refused")
			}},
		{name: "verified in Auth0 meanwhile", want: Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.EmailVerified = true
			}},
		{name: "resumed after a PATCH whose attempt died", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder, u.user.EmailVerified = store.StatusVerifying, "msg_a", true
			}},
		{name: "resumed before the PATCH landed", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, r *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_a"
			}},
		{name: "email changed in Auth0 meanwhile", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Email = "ada@example.org"
			}},
		{name: "Auth0 email differs only in case", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Email = "Ada@Example.com"
			}},
		{name: "Auth0 email now spells kate with a Kelvin sign", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(ev *PostLoginEvent, _ *store.Job, r *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				ev.Data.User.Email, r.rec.Email, u.user.Email = "kate@example.com", "kate@example.com", "\u212Aate@example.com"
			}},
		{name: "moved to another connection meanwhile", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.user.Connection = "Legacy-Users"
			}},
		{name: "user deleted", want: Decision{Action: Ack, Outcome: OutcomeUserNotFound, Close: true},
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = apiErr(auth0client.ErrUserNotFound)
			}},
		{name: "user deleted just before the PATCH", want: Decision{Action: Ack, Outcome: OutcomeUserNotFound, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrUserNotFound)
			}},
		{name: "rate limited reading", want: Decision{Action: Retry, Defer: DeferRateLimited, NotBefore: reset}, wantErrIs: auth0client.ErrRateLimited,
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = fmt.Errorf("get user: %w", &auth0client.RateLimitError{Reset: reset})
			}},
		{name: "rate limited patching", want: Decision{Action: Retry, Defer: DeferRateLimited, NotBefore: reset}, wantErrIs: auth0client.ErrRateLimited,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = fmt.Errorf("verify email: %w", &auth0client.RateLimitError{Reset: reset})
			}},
		{name: "server error", want: Decision{Action: Retry}, wantErrIs: auth0client.ErrTransient,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrTransient)
			}},
		{name: "credentials refused", want: Decision{Action: Retry}, wantErrIs: auth0client.ErrUnauthorized,
			wantGets: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.getErr = apiErr(auth0client.ErrUnauthorized)
			}},
		{name: "request rejected", want: Decision{Action: DeadLetter}, wantErrIs: auth0client.ErrPermanent,
			wantGets: 1, wantPatches: 1, wantClaims: []string{"msg_a"},
			setup: func(_ *PostLoginEvent, _ *store.Job, _ *fakeClaims, u *fakeManagement, _ *fakeSlots) {
				u.patchErr = apiErr(auth0client.ErrPermanent)
			}},
		{name: "job without a webhook id holds the lock as its job id", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{"1700000000000-0"},
			setup: func(_ *PostLoginEvent, j *store.Job, _ *fakeClaims, _ *fakeManagement, _ *fakeSlots) {
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
		p := &Processor{Records: recs, Users: users, Budget: budget, Log: zaptest.NewLogger(t)}

		got := p.Process(t.Context(), job)

		if got.Action != tc.want.Action || got.Outcome != tc.want.Outcome || got.Close != tc.want.Close || !got.NotBefore.Equal(tc.want.NotBefore) || got.Defer != tc.want.Defer {
			t.Errorf("%s: decision action %d outcome %q close %v not before %v defer %q, want %d %q %v %v %q (err %v)", tc.name,
				got.Action, got.Outcome, got.Close, got.NotBefore, got.Defer, tc.want.Action, tc.want.Outcome, tc.want.Close, tc.want.NotBefore, tc.want.Defer, got.Err)
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
		if budget.waits != users.gets+users.patches && !(budget.waitErr != nil && budget.waits == 1) {
			t.Errorf("%s: %d budget slots for %d calls, want one slot per call", tc.name, budget.waits, users.gets+users.patches)
		}
		if !slices.Equal(recs.claims, tc.wantClaims) {
			t.Errorf("%s: claims by %q, want %q", tc.name, recs.claims, tc.wantClaims)
		}
		if wantPause := !tc.want.NotBefore.IsZero(); wantPause != slices.Equal(budget.pauses, []time.Time{tc.want.NotBefore}) {
			t.Errorf("%s: pauses %v, want a shared pause until %v: %v", tc.name, budget.pauses, tc.want.NotBefore, wantPause)
		}
	}
}
