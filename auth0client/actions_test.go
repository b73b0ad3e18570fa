package auth0client_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestDeployAction(t *testing.T) {
	// The real clock: builds finish while DeployAction polls.
	tn := auth0test.NewT(t, auth0test.Config{BuildDelay: 30 * time.Millisecond})
	c := newClient(t, tn, nil)
	ctx := context.Background()

	other, err := c.DeployAction(ctx, auth0client.ActionSpec{Name: "someone else's", Code: "exports.onExecutePostLogin = async () => {};", PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("deploy another action: %v", err)
	}

	steps := []struct {
		name        string
		spec        auth0client.ActionSpec
		want        auth0client.ActionDeployment // ActionID filled in after the first step
		wantSecrets map[string]string
	}{
		{
			name: "first deploy creates and binds",
			spec: auth0client.ActionSpec{Name: "mailproof", Code: "// v1", PollInterval: 5 * time.Millisecond,
				Secrets: map[string]string{"MAILPROOF_SECRET": "whsec_one", "MAILPROOF_URL": "https://mp.example.com"}},
			want:        auth0client.ActionDeployment{Version: 1, Created: true, Bound: true},
			wantSecrets: map[string]string{"MAILPROOF_SECRET": "whsec_one", "MAILPROOF_URL": "https://mp.example.com"},
		},
		{
			name: "second deploy updates and leaves the bindings",
			spec: auth0client.ActionSpec{Name: "mailproof", Code: "// v2", PollInterval: 5 * time.Millisecond,
				Secrets: map[string]string{"MAILPROOF_SECRET": "whsec_two"}},
			want:        auth0client.ActionDeployment{Version: 2},
			wantSecrets: map[string]string{"MAILPROOF_SECRET": "whsec_two"},
		},
	}
	var id string
	for _, s := range steps {
		got, err := c.DeployAction(ctx, s.spec)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if id == "" {
			id = got.ActionID
		}
		s.want.ActionID = id
		if got != s.want {
			t.Errorf("%s: got %+v, want %+v", s.name, got, s.want)
		}
		a, ok := tn.Action("mailproof")
		if !ok || a.DeployedCode != s.spec.Code || a.Runtime != auth0client.DefaultActionRuntime ||
			!slices.Equal(a.SupportedTriggers, []string{"post-login"}) || !maps.Equal(a.Secrets, s.wantSecrets) || !a.AllChangesDeployed {
			t.Errorf("%s: tenant has %+v, want the spec deployed on node22 for post-login", s.name, a)
		}
		if got := tn.Bindings("post-login"); !slices.Equal(got, []string{"someone else's", "mailproof"}) {
			t.Errorf("%s: post-login bindings %v, want the other action first, then mailproof", s.name, got)
		}
	}
	if other.ActionID == id {
		t.Errorf("both actions got id %s", id)
	}
	if n := tn.CountCalls(http.MethodGet, "/api/v2/actions/actions/"+id); n < 2 {
		t.Errorf("%d build-status reads, want at least one per deploy", n)
	}
}

func TestDeployActionErrors(t *testing.T) {
	tests := []struct {
		name    string
		spec    auth0client.ActionSpec
		fault   auth0test.Fault
		timeout time.Duration
		want    error
	}{
		{name: "no code", spec: auth0client.ActionSpec{Name: "mailproof"}, want: auth0client.ErrPermanent},
		{name: "deploy answers 500", spec: auth0client.ActionSpec{Name: "mailproof", Code: "//"},
			fault: auth0test.Fault{Method: http.MethodPost, PathPrefix: "/api/v2/actions/actions/", Status: 500}, want: auth0client.ErrTransient},
		{name: "bindings rejected", spec: auth0client.ActionSpec{Name: "mailproof", Code: "//"},
			fault: auth0test.Fault{Method: http.MethodPatch, PathPrefix: "/api/v2/actions/triggers/", Status: 400}, want: auth0client.ErrPermanent},
		{name: "missing action is not a missing user", spec: auth0client.ActionSpec{Name: "mailproof", Code: "//"},
			fault: auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/actions/actions/", Status: 404}, want: auth0client.ErrPermanent},
		{name: "gives up with the context", spec: auth0client.ActionSpec{Name: "mailproof", Code: "//", PollInterval: time.Hour},
			timeout: 200 * time.Millisecond, want: auth0client.ErrTransient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buildDelay := 10 * time.Millisecond
			if tc.timeout > 0 {
				buildDelay = time.Hour // never built: only the context ends the wait
			}
			tn := auth0test.NewT(t, auth0test.Config{BuildDelay: buildDelay})
			c := newClient(t, tn, nil)
			tn.Inject(tc.fault)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			if tc.spec.PollInterval == 0 {
				tc.spec.PollInterval = 5 * time.Millisecond
			}
			_, err := c.DeployAction(ctx, tc.spec)
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if errors.Is(err, auth0client.ErrUserNotFound) {
				t.Errorf("%s: %v matches ErrUserNotFound", tc.name, err)
			}
		})
	}
}

// TestDeployActionBuildFails: a build Auth0 reports as failed stops the
// deploy before anything is deployed or bound, for a new Action and for an
// update of a live one, and the next deploy succeeds.
func TestDeployActionBuildFails(t *testing.T) {
	tn := auth0test.NewT(t, auth0test.Config{BuildDelay: 10 * time.Millisecond})
	c := newClient(t, tn, nil)
	ctx := context.Background()
	spec := func(code string) auth0client.ActionSpec {
		return auth0client.ActionSpec{Name: "mailproof", Code: code, PollInterval: 5 * time.Millisecond}
	}
	deploys := func() int { return tn.CountCalls(http.MethodPost, "/api/v2/actions/actions/") }

	tn.FailNextBuild()
	_, err := c.DeployAction(ctx, spec("// v1"))
	if !errors.Is(err, auth0client.ErrActionBuildFailed) || !errors.Is(err, auth0client.ErrPermanent) ||
		!strings.Contains(err.Error(), `build status "failed"`) || !strings.Contains(err.Error(), "no version of it is deployed") {
		t.Fatalf("new action, failed build: %v, want ErrActionBuildFailed naming the status and that nothing is live", err)
	}
	if n := deploys(); n != 0 || len(tn.Bindings("post-login")) != 0 {
		t.Errorf("after the failed build: %d deploy calls, bindings %v, want none", n, tn.Bindings("post-login"))
	}

	if _, err := c.DeployAction(ctx, spec("// v1")); err != nil {
		t.Fatalf("deploy after fixing: %v", err)
	}
	tn.FailNextBuild()
	_, err = c.DeployAction(ctx, spec("// v2"))
	if !errors.Is(err, auth0client.ErrActionBuildFailed) || !strings.Contains(err.Error(), "version 1 stays deployed") {
		t.Fatalf("update, failed build: %v, want ErrActionBuildFailed saying version 1 stays deployed", err)
	}
	if a, _ := tn.Action("mailproof"); a.DeployedVersion != 1 || a.DeployedCode != "// v1" || a.Status != "failed" ||
		!slices.Equal(tn.Bindings("post-login"), []string{"mailproof"}) {
		t.Errorf("after the failed update: %+v, bindings %v, want v1 live and bound", a, tn.Bindings("post-login"))
	}
	if errors.Is(err, auth0client.ErrUserNotFound) || errors.Is(err, auth0client.ErrTransient) {
		t.Errorf("%v matches another class", err)
	}
}
