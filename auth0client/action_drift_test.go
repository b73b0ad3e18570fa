package auth0client_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestActionDriftOfAState(t *testing.T) {
	spec := auth0client.ActionSpec{Name: "mailproof", Code: "// v1", Secrets: map[string]string{"B": "2", "A": "1"}}
	live := auth0client.ActionState{ID: "act_1", DeployedVersion: 3, DeployedCode: "// v1", AllChangesDeployed: true,
		Runtime: "node22", Triggers: []string{"post-login v3"}, Secrets: []string{"B", "A"}, Bindings: []string{"mailproof"}, BoundAt: 1}
	with := func(change func(*auth0client.ActionState)) auth0client.ActionState {
		st := live
		change(&st)
		return st
	}
	tests := []struct {
		name  string
		state auth0client.ActionState
		want  auth0client.ActionDrift
	}{
		{name: "the spec, deployed and bound", state: live},
		{name: "absent", state: auth0client.ActionState{}, want: auth0client.ActionDrift{Absent: true, Unbound: true}},
		{name: "never deployed", state: with(func(s *auth0client.ActionState) {
			s.DeployedVersion, s.DeployedCode, s.AllChangesDeployed = 0, "", false
		}), want: auth0client.ActionDrift{Undeployed: true}},
		{name: "changes in the draft", state: with(func(s *auth0client.ActionState) { s.AllChangesDeployed = false }), want: auth0client.ActionDrift{Draft: true}},
		{name: "other code", state: with(func(s *auth0client.ActionState) { s.DeployedCode = "// v0" }), want: auth0client.ActionDrift{Code: true}},
		{name: "older runtime", state: with(func(s *auth0client.ActionState) { s.Runtime = "node18" }), want: auth0client.ActionDrift{Runtime: true}},
		{name: "older trigger version", state: with(func(s *auth0client.ActionState) { s.Triggers = []string{"post-login v2"} }), want: auth0client.ActionDrift{Trigger: true}},
		{name: "a secret more", state: with(func(s *auth0client.ActionState) { s.Secrets = []string{"A", "B", "C"} }), want: auth0client.ActionDrift{SecretNames: true}},
		{name: "a secret less", state: with(func(s *auth0client.ActionState) { s.Secrets = []string{"A"} }), want: auth0client.ActionDrift{SecretNames: true}},
		{name: "unbound", state: with(func(s *auth0client.ActionState) { s.BoundAt = 0 }), want: auth0client.ActionDrift{Unbound: true}},
	}
	for _, tc := range tests {
		got := tc.state.Drift(spec)
		if got != tc.want {
			t.Errorf("%s: drift %+v, want %+v", tc.name, got, tc.want)
		}
		if got.None() != (tc.want == auth0client.ActionDrift{}) || got.None() != (len(got.Reasons()) == 0) {
			t.Errorf("%s: None %t with reasons %q", tc.name, got.None(), got.Reasons())
		}
	}
}

// TestActionDriftAgainstTheTenant reads the state a deploy leaves: none right after it,
// the differences once the spec or the tenant moves on.
func TestActionDriftAgainstTheTenant(t *testing.T) {
	tn := auth0test.NewT(t, auth0test.Config{BuildDelay: time.Nanosecond})
	c := newClient(t, tn, nil)
	ctx := context.Background()
	spec := auth0client.ActionSpec{Name: "mailproof", Code: "// v1", PollInterval: 5 * time.Millisecond,
		Secrets: map[string]string{"MAILPROOF_URL": "https://mp.example.com", "MAILPROOF_SECRET": "whsec_one"}}
	drift := func(spec auth0client.ActionSpec) auth0client.ActionDrift {
		t.Helper()
		st, err := c.ActionState(ctx, spec.Name, "")
		if err != nil {
			t.Fatal(err)
		}
		return st.Drift(spec)
	}
	if d := drift(spec); !d.Absent {
		t.Errorf("empty tenant: drift %+v, want absent", d)
	}
	if _, err := c.DeployAction(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if d := drift(spec); !d.None() {
		t.Errorf("right after the deploy: %q, want no drift", d.Reasons())
	}
	// Values are not compared: Auth0 does not return them.
	other := spec
	other.Secrets = map[string]string{"MAILPROOF_URL": "https://other.example.com", "MAILPROOF_SECRET": "whsec_two"}
	if d := drift(other); !d.None() {
		t.Errorf("other secret values: %q, want no drift (names only)", d.Reasons())
	}
	other.Secrets = map[string]string{"MAILPROOF_SECRET": "whsec_one"}
	if d := drift(other); d != (auth0client.ActionDrift{SecretNames: true}) {
		t.Errorf("a secret dropped: %+v, want the secret names", d)
	}
	// An update whose deploy step fails leaves the new code in the draft only.
	v2 := spec
	v2.Code = "// v2"
	tn.Inject(auth0test.Fault{Method: http.MethodPost, PathPrefix: "/api/v2/actions/actions/", Status: 500, Times: 1})
	if _, err := c.DeployAction(ctx, v2); !errors.Is(err, auth0client.ErrTransient) {
		t.Fatalf("deploy with a failing deploy step: %v, want ErrTransient", err)
	}
	if d := drift(v2); d != (auth0client.ActionDrift{Draft: true, Code: true}) {
		t.Errorf("v2 in the draft only: %+v, want the draft and the code", d)
	}
	if d := drift(spec); d != (auth0client.ActionDrift{Draft: true}) {
		t.Errorf("v1 deployed, v2 in the draft: %+v, want the draft", d)
	}
	if got := drift(auth0client.ActionSpec{Name: "mailproof", Code: "// v1", Runtime: "node18", Secrets: spec.Secrets}).Reasons(); !slices.Contains(got, "the runtime differs") {
		t.Errorf("other runtime: reasons %q", got)
	}
}
