package proof

import (
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/store"
)

// TestProcessSweepDecisions: a job the sweep queued goes the way a login's does, with
// what the sweep found in place of the event: judged on the find before the claim and
// on the record actually claimed, then the fresh read, where the find's evidence (a
// reset after provisioning, a login after it) must hold again, then the PATCH.
func TestProcessSweepDecisions(t *testing.T) {
	rec := provisioned()
	reset := rec.ProvisionedAt.Add(time.Hour)
	found := auth0client.User{ID: rec.UserID, Email: rec.Email, Connection: rec.Connection, DatabaseConnection: true,
		LastPasswordReset: reset, LastLogin: reset.Add(time.Minute), UpdatedAt: reset}
	const holder = store.SourceReconcile + "auth0|6560c1f2e4b0a1b2c3d4e5f6:1700000000000"
	tests := []struct {
		name  string
		setup func(f *sweepFind, job *store.Job, r *fakeClaims, u *fakeManagement)

		want           Decision // Err is only checked for being set
		wantGets       int
		wantPatches    int
		wantUnverifies int
		wantClaims     []string
	}{
		{name: "proven find flips", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantPatches: 1, wantClaims: []string{holder}},
		{name: "find already verified: closed on the find, no claim, no call",
			want:  Decision{Action: Ack, Outcome: OutcomeAlreadyVerified, Close: true},
			setup: func(f *sweepFind, _ *store.Job, _ *fakeClaims, _ *fakeManagement) { f.EmailVerified = true }},
		{name: "find on another address: closed on the find, no claim, no call",
			want:  Decision{Action: Ack, Outcome: OutcomeEmailChanged, Close: true},
			setup: func(f *sweepFind, _ *store.Job, _ *fakeClaims, _ *fakeManagement) { f.Email = "eve@example.com" }},
		{name: "record registered again after the find's reset, between read and claim",
			want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset}, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, r *fakeClaims, _ *fakeManagement) {
				again := r.rec
				again.ProvisionedAt = reset.Add(30 * time.Second)
				r.claimed = &again
			}},
		{name: "the fresh read shows a reset after the found login: waits, no PATCH",
			want: Decision{Action: Ack, Outcome: OutcomeNoLoginSinceReset}, wantGets: 1, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, _ *fakeClaims, u *fakeManagement) {
				u.user.LastPasswordReset = u.user.LastLogin.Add(time.Minute)
			}},
		{name: "the fresh read shows no reset after provisioning: waits, no PATCH",
			want: Decision{Action: Ack, Outcome: OutcomeNoPasswordReset}, wantGets: 1, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, _ *fakeClaims, u *fakeManagement) {
				u.user.LastPasswordReset = rec.ProvisionedAt.Add(-time.Minute)
			}},
		{name: "the fresh read shows another address", want: Decision{Action: Ack, Outcome: OutcomeChangedSinceEvent, Close: true},
			wantGets: 1, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, _ *fakeClaims, u *fakeManagement) { u.user.Email = "ada@example.org" }},
		{name: "resumed after a PATCH whose attempt died", want: Decision{Action: Ack, Outcome: OutcomeVerified, Close: true},
			wantGets: 1, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, r *fakeClaims, u *fakeManagement) {
				r.rec.Status, r.rec.Holder, u.user.EmailVerified = store.StatusVerifying, holder, true
			}},
		{name: "resumed and verified on another address: an earlier PATCH may have landed there",
			want:     Decision{Action: Ack, Outcome: OutcomeChangedDuringFlip, Close: true, Undo: UndoDone},
			wantGets: 1, wantUnverifies: 1, wantClaims: []string{holder},
			setup: func(_ *sweepFind, _ *store.Job, r *fakeClaims, u *fakeManagement) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, holder
				u.user.Email, u.user.EmailVerified = attacker, true
			}},
		{name: "a webhook job holds the record", want: Decision{Action: Retry, Defer: DeferUserBusy},
			setup: func(_ *sweepFind, _ *store.Job, r *fakeClaims, _ *fakeManagement) {
				r.rec.Status, r.rec.Holder = store.StatusVerifying, "msg_other"
			}},
		{name: "the find names another user", want: Decision{Action: DeadLetter},
			setup: func(f *sweepFind, _ *store.Job, _ *fakeClaims, _ *fakeManagement) { f.UserID = "auth0|someone-else" }},
		{name: "a find without a user", want: Decision{Action: DeadLetter},
			setup: func(_ *sweepFind, j *store.Job, _ *fakeClaims, _ *fakeManagement) {
				j.Payload = []byte(`{"reconcile":{"run":"r"}}`)
			}},
	}
	for _, tc := range tests {
		f := newSweepFind("run-1", PathSearch, found)
		job := store.Job{ID: "1700000000000-0", UserID: rec.UserID, WebhookID: holder, Attempt: 1}
		recs := &fakeClaims{rec: rec}
		users := &fakeManagement{user: found}
		if tc.setup != nil {
			tc.setup(&f, &job, recs, users)
		}
		if job.Payload == nil {
			b, err := f.payload()
			if err != nil {
				t.Fatal(err)
			}
			job.Payload = b
		}
		p := &Processor{Records: recs, Users: users, Budget: &fakeSlots{}, Undos: recs, Log: zaptest.NewLogger(t)}

		got := p.Process(t.Context(), job)

		if got.Action != tc.want.Action || got.Outcome != tc.want.Outcome || got.Close != tc.want.Close || got.Defer != tc.want.Defer || got.Undo != tc.want.Undo {
			t.Errorf("%s: decision action %d outcome %q close %v defer %q undo %q, want %d %q %v %q %q (err %v)", tc.name,
				got.Action, got.Outcome, got.Close, got.Defer, got.Undo, tc.want.Action, tc.want.Outcome, tc.want.Close, tc.want.Defer, tc.want.Undo, got.Err)
		}
		if wantErr := tc.want.Action != Ack; (got.Err != nil) != wantErr {
			t.Errorf("%s: error %v, want an error: %v", tc.name, got.Err, wantErr)
		}
		if users.gets != tc.wantGets || users.patches != tc.wantPatches || users.unverifies != tc.wantUnverifies {
			t.Errorf("%s: %d reads, %d PATCHes, %d undos, want %d, %d, %d", tc.name, users.gets, users.patches, users.unverifies,
				tc.wantGets, tc.wantPatches, tc.wantUnverifies)
		}
		if !slices.Equal(recs.claims, tc.wantClaims) {
			t.Errorf("%s: claims by %q, want %q", tc.name, recs.claims, tc.wantClaims)
		}
		// The run's summary counts every call the job made.
		if wantCalls := users.gets + users.patches + users.unverifies; got.Action != DeadLetter && (got.Run != "run-1" || got.Calls != wantCalls) {
			t.Errorf("%s: run %q calls %d, want run-1 and %d", tc.name, got.Run, got.Calls, wantCalls)
		}
	}
}

// TestSweepFindIdentity: a find's job id is one per user and state of the user, so the
// same find in overlapping runs is queued once, and a later login or change is new.
func TestSweepFindIdentity(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	base := auth0client.User{ID: "auth0|1", Email: "ada@example.com", LastPasswordReset: at, LastLogin: at.Add(time.Minute), UpdatedAt: at}
	id := newSweepFind("run-1", PathSearch, base).webhookID()
	if other := newSweepFind("run-2", PathExport, base).webhookID(); other != id {
		t.Errorf("the same find in another run: %s, want %s", other, id)
	}
	for name, change := range map[string]func(*auth0client.User){
		"a later login":    func(u *auth0client.User) { u.LastLogin = u.LastLogin.Add(time.Hour) },
		"a later change":   func(u *auth0client.User) { u.UpdatedAt = u.UpdatedAt.Add(time.Hour) },
		"a later reset":    func(u *auth0client.User) { u.LastPasswordReset = u.LastPasswordReset.Add(time.Hour) },
		"another user":     func(u *auth0client.User) { u.ID = "auth0|2" },
		"a login 1ms late": func(u *auth0client.User) { u.LastLogin = u.LastLogin.Add(time.Millisecond) },
	} {
		u := base
		change(&u)
		if got := newSweepFind("run-1", PathSearch, u).webhookID(); got == id {
			t.Errorf("%s: id %s, the same as before it; want a new job", name, got)
		}
	}
	if src := (store.AuditEntry{WebhookID: id}).Source(); src != store.SourceSweep {
		t.Errorf("source of %s: %s, want %s", id, src, store.SourceSweep)
	}
	if _, err := decodeSweepFind([]byte(`{"type":"post-login"}`)); err == nil {
		t.Errorf("a webhook payload decoded as a find")
	}
	if isSweepJob(store.Job{Payload: []byte(`{"type":"x","reconcile":{"user_id":"auth0|1"}}`)}) {
		t.Errorf("a payload that does not start with the sweep's prefix passed for a sweep job")
	}
}
