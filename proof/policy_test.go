package proof

import (
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/event"
	"github.com/mailproof/mailproof/event/eventtest"
	"github.com/mailproof/mailproof/store"
)

// loadEvent decodes a fixture of event/testdata/events, so the policy is exercised on
// the same realistic events the decoder is.
func loadEvent(t *testing.T, name string) *event.PostLogin {
	t.Helper()
	ev, err := event.Decode(eventtest.Read(t, name))
	if err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &ev
}

func provisioned() store.Record {
	return store.Record{
		UserID:        "auth0|6560c1f2e4b0a1b2c3d4e5f6",
		Email:         "ada@example.com",
		Connection:    "Username-Password-Authentication",
		ProvisionedAt: time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
		Status:        store.StatusPending,
	}
}

func TestPolicy(t *testing.T) {
	tests := []struct {
		name         string
		fixture      string
		mutate       func(ev *event.PostLogin, rec *store.Record)
		wantOutcome  string // "" means every rule holds
		wantTerminal bool
	}{
		{name: "first password login after the reset", fixture: "first-login-after-reset.json"},
		{name: "email differs only in case and spaces", fixture: "first-login-after-reset.json",
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.User.Email = "  Ada@Example.COM " }},
		{name: "login with extra factors after the password", fixture: "first-login-after-reset.json",
			mutate: func(ev *event.PostLogin, _ *store.Record) {
				ev.Data.Authentication.Methods = append(ev.Data.Authentication.Methods, event.AuthMethod{Name: "mfa", Timestamp: ev.Timestamp})
			}},
		{name: "already verified", fixture: "already-verified.json", wantOutcome: OutcomeAlreadyVerified, wantTerminal: true},
		{name: "email changed since provisioning", fixture: "first-login-after-reset.json", wantOutcome: OutcomeEmailChanged, wantTerminal: true,
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.User.Email = "mallory@example.net" }},
		{name: "ASCII case and spaces against kate@example.com", fixture: "first-login-after-reset.json",
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				ev.Data.User.Email, rec.Email = " KATE@Example.com\t", "kate@example.com"
			}},
		{name: "Kelvin sign against kate@example.com", fixture: "first-login-after-reset.json", wantOutcome: OutcomeEmailChanged, wantTerminal: true,
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				ev.Data.User.Email, rec.Email = "\u212Aate@example.com", "kate@example.com"
			}},
		{name: "trailing no-break space against kate@example.com", fixture: "first-login-after-reset.json", wantOutcome: OutcomeEmailChanged, wantTerminal: true,
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				ev.Data.User.Email, rec.Email = "kate@example.com\u00a0", "kate@example.com"
			}},
		{name: "look-alike email", fixture: "first-login-after-reset.json", wantOutcome: OutcomeEmailChanged, wantTerminal: true,
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.User.Email = "ada@examp1e.com" }},
		{name: "social connection", fixture: "social-login.json", wantOutcome: OutcomeWrongConnection,
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				rec.UserID, rec.Email = ev.Data.User.UserID, event.NormalizeEmail(ev.Data.User.Email)
			}},
		{name: "another database connection", fixture: "first-login-after-reset.json", wantOutcome: OutcomeWrongConnection,
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.Connection.Name = "Legacy-Users" }},
		{name: "passkey login", fixture: "passkey-login.json", wantOutcome: OutcomeWrongMethod,
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				rec.UserID, rec.Email = ev.Data.User.UserID, event.NormalizeEmail(ev.Data.User.Email)
			}},
		{name: "passwordless email login", fixture: "first-login-after-reset.json", wantOutcome: OutcomeWrongMethod,
			mutate: func(ev *event.PostLogin, _ *store.Record) {
				ev.Data.Authentication.Methods = []event.AuthMethod{{Name: "email", Timestamp: ev.Timestamp}}
			}},
		{name: "no methods at all", fixture: "first-login-after-reset.json", wantOutcome: OutcomeWrongMethod,
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.Authentication.Methods = nil }},
		{name: "never reset the password", fixture: "first-login-after-reset.json", wantOutcome: OutcomeNoPasswordReset,
			mutate: func(ev *event.PostLogin, _ *store.Record) { ev.Data.User.LastPasswordReset = nil }},
		{name: "reset before provisioning", fixture: "first-login-after-reset.json", wantOutcome: OutcomeNoPasswordReset,
			mutate: func(ev *event.PostLogin, rec *store.Record) {
				rec.ProvisionedAt = ev.Data.User.LastPasswordReset.Add(time.Second)
			}},
		{name: "reset at the very instant of provisioning", fixture: "first-login-after-reset.json", wantOutcome: OutcomeNoPasswordReset,
			mutate: func(ev *event.PostLogin, rec *store.Record) { rec.ProvisionedAt = *ev.Data.User.LastPasswordReset }},
	}
	for _, tc := range tests {
		ev := loadEvent(t, tc.fixture)
		rec := provisioned()
		if tc.mutate != nil {
			tc.mutate(ev, &rec)
		}
		got := Evaluate(ev, rec)
		checkRule(t, tc.name, got, tc.wantOutcome, tc.wantTerminal)
	}
}

// TestPolicyTable: every rule is checked somewhere, and has an outcome for each place.
func TestPolicyTable(t *testing.T) {
	for _, r := range Rules() {
		if r.Event == nil && r.User == nil && r.Sweep == nil {
			t.Errorf("%s: checked nowhere", r.Name)
		}
		if r.FreshOutcome != "" && r.User == nil {
			t.Errorf("%s: a fresh-read outcome without a check of the user", r.Name)
		}
		if r.AtRegistration && (r.User == nil || r.Explain == "") {
			t.Errorf("%s: a registration rule needs a check of the user and an explanation", r.Name)
		}
	}
	rs := Rules()
	rs[0].Name = "changed by a caller"
	if Rules()[0].Name == rs[0].Name {
		t.Errorf("Rules shares the table with callers")
	}
}

// checkRule compares the rule an evaluation returned with the outcome wanted ("": every
// rule holds).
func checkRule(t *testing.T, name string, got *Rule, wantOutcome string, wantTerminal bool) {
	t.Helper()
	switch {
	case wantOutcome == "" && got != nil:
		t.Errorf("%s: rule %q (%s) failed, want every rule to hold", name, got.Name, got.Outcome)
	case wantOutcome != "" && got == nil:
		t.Errorf("%s: every rule held, want %s", name, wantOutcome)
	case got != nil && (got.Outcome != wantOutcome || got.Terminal != wantTerminal):
		t.Errorf("%s: outcome %s terminal %v, want %s terminal %v", name, got.Outcome, got.Terminal, wantOutcome, wantTerminal)
	}
}

// TestEvaluateSweep: the rules on Management API data, as the sweep finds a user and as
// its job's fresh read sees it.
func TestEvaluateSweep(t *testing.T) {
	rec := provisioned()
	reset := rec.ProvisionedAt.Add(time.Hour)
	proven := auth0client.User{ID: rec.UserID, Email: "  ADA@example.com", Connection: rec.Connection, DatabaseConnection: true,
		LastPasswordReset: reset, LastLogin: reset.Add(time.Minute)}
	tests := []struct {
		name         string
		mutate       func(*auth0client.User)
		wantOutcome  string
		wantTerminal bool
		wantEvidence string // what sweepEvidence says on the same user as a fresh read
	}{
		{name: "reset after provisioning, then a login"},
		{name: "already verified", mutate: func(u *auth0client.User) { u.EmailVerified = true }, wantOutcome: OutcomeAlreadyVerified, wantTerminal: true},
		{name: "another address", mutate: func(u *auth0client.User) { u.Email = "eve@example.com" }, wantOutcome: OutcomeEmailChanged, wantTerminal: true},
		{name: "Kelvin sign is not k", mutate: func(u *auth0client.User) { u.Email = "ada@example.\u212aom" }, wantOutcome: OutcomeEmailChanged, wantTerminal: true},
		{name: "social connection", mutate: func(u *auth0client.User) { u.DatabaseConnection = false }, wantOutcome: OutcomeWrongConnection},
		{name: "another database connection", mutate: func(u *auth0client.User) { u.Connection = "Other-DB" }, wantOutcome: OutcomeWrongConnection},
		{name: "never reset", mutate: func(u *auth0client.User) { u.LastPasswordReset = time.Time{} },
			wantOutcome: OutcomeNoPasswordReset, wantEvidence: OutcomeNoPasswordReset},
		{name: "reset before provisioning", mutate: func(u *auth0client.User) { u.LastPasswordReset = rec.ProvisionedAt.Add(-time.Second) },
			wantOutcome: OutcomeNoPasswordReset, wantEvidence: OutcomeNoPasswordReset},
		{name: "reset at the instant of provisioning", mutate: func(u *auth0client.User) { u.LastPasswordReset = rec.ProvisionedAt },
			wantOutcome: OutcomeNoPasswordReset, wantEvidence: OutcomeNoPasswordReset},
		{name: "reset, no login yet", mutate: func(u *auth0client.User) { u.LastLogin = time.Time{} },
			wantOutcome: OutcomeNoLoginSinceReset, wantEvidence: OutcomeNoLoginSinceReset},
		{name: "logged in before the reset only", mutate: func(u *auth0client.User) { u.LastLogin = reset.Add(-time.Minute) },
			wantOutcome: OutcomeNoLoginSinceReset, wantEvidence: OutcomeNoLoginSinceReset},
		{name: "login at the instant of the reset", mutate: func(u *auth0client.User) { u.LastLogin = reset },
			wantOutcome: OutcomeNoLoginSinceReset, wantEvidence: OutcomeNoLoginSinceReset},
	}
	for _, tc := range tests {
		u := proven
		if tc.mutate != nil {
			tc.mutate(&u)
		}
		got := EvaluateSweep(u, rec)
		checkRule(t, tc.name, got, tc.wantOutcome, tc.wantTerminal)
		ev := sweepEvidence(u, rec)
		if (ev == nil) != (tc.wantEvidence == "") || (ev != nil && ev.Outcome != tc.wantEvidence) {
			t.Errorf("%s: sweepEvidence %v, want %q", tc.name, ev, tc.wantEvidence)
		}
	}
}

func TestEvaluateUserAndRegistration(t *testing.T) {
	rec := provisioned()
	good := auth0client.User{ID: rec.UserID, Email: "Ada@Example.com", Connection: rec.Connection, DatabaseConnection: true}
	tests := []struct {
		name             string
		change           func(u *auth0client.User)
		wantFresh        string // "" holds
		wantRegistration string
	}{
		{name: "unchanged", change: func(*auth0client.User) {}},
		{name: "verified meanwhile", change: func(u *auth0client.User) { u.EmailVerified = true },
			wantFresh: OutcomeAlreadyVerified, wantRegistration: OutcomeAlreadyVerified},
		{name: "address changed", change: func(u *auth0client.User) { u.Email = "mallory@example.net" },
			wantFresh: OutcomeChangedSinceEvent},
		{name: "Kelvin sign", change: func(u *auth0client.User) { u.Email = "ada@example.com\u212a" },
			wantFresh: OutcomeChangedSinceEvent},
		{name: "no address", change: func(u *auth0client.User) { u.Email = " " },
			wantFresh: OutcomeChangedSinceEvent, wantRegistration: OutcomeNoEmail},
		{name: "another database connection", change: func(u *auth0client.User) { u.Connection = "Legacy-Users" },
			wantFresh: OutcomeChangedSinceEvent},
		{name: "a social identity", change: func(u *auth0client.User) { u.DatabaseConnection, u.Connection = false, "google-oauth2" },
			wantFresh: OutcomeChangedSinceEvent, wantRegistration: OutcomeWrongConnection},
	}
	for _, tc := range tests {
		u := good
		tc.change(&u)
		got := ""
		if r := EvaluateUser(u, rec); r != nil {
			got = r.FreshOutcome
		}
		if got != tc.wantFresh {
			t.Errorf("%s: fresh read %q, want %q", tc.name, got, tc.wantFresh)
		}
		got = ""
		if r := EvaluateRegistration(u); r != nil {
			got = r.Outcome
		}
		if got != tc.wantRegistration {
			t.Errorf("%s: registration %q, want %q", tc.name, got, tc.wantRegistration)
		}
	}
}
