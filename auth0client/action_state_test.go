package auth0client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailproof/mailproof/auth0client"
	"github.com/mailproof/mailproof/auth0client/auth0test"
)

func TestActionState(t *testing.T) {
	const secretValue = "whsec_c2VjcmV0IHRoYXQgbXVzdCBub3QgbGVhaw=="
	deploy := func(t *testing.T, c *auth0client.Client, name, code string) auth0client.ActionDeployment {
		t.Helper()
		d, err := c.DeployAction(context.Background(), auth0client.ActionSpec{
			Name: name, Code: code, PollInterval: 5 * time.Millisecond,
			Secrets: map[string]string{"MAILPROOF_URL": "https://mp.example.com", "MAILPROOF_SECRET": secretValue},
		})
		if err != nil {
			t.Fatalf("deploy %s: %v", name, err)
		}
		return d
	}
	cases := []struct {
		name    string
		trigger string
		// prepare sets the tenant up and returns the id the state must
		// report ("" for none).
		prepare func(t *testing.T, tn *auth0test.Tenant, c *auth0client.Client) string
		want    auth0client.ActionState // ID filled in from prepare
	}{
		{
			name:    "empty tenant",
			prepare: func(*testing.T, *auth0test.Tenant, *auth0client.Client) string { return "" },
			want:    auth0client.ActionState{},
		},
		{
			name: "only another Action bound",
			prepare: func(t *testing.T, _ *auth0test.Tenant, c *auth0client.Client) string {
				deploy(t, c, "acme-risk-check", "// other")
				return ""
			},
			want: auth0client.ActionState{Bindings: []string{"acme-risk-check"}},
		},
		{
			name: "created but never deployed",
			prepare: func(t *testing.T, tn *auth0test.Tenant, c *auth0client.Client) string {
				tn.Inject(auth0test.Fault{Method: http.MethodPost, PathPrefix: "/api/v2/actions/actions/", Status: 500, Times: 1})
				_, err := c.DeployAction(context.Background(), auth0client.ActionSpec{Name: "mailproof", Code: "// v1", PollInterval: 5 * time.Millisecond,
					Secrets: map[string]string{"MAILPROOF_SECRET": secretValue}})
				if !errors.Is(err, auth0client.ErrTransient) {
					t.Fatalf("deploy with a failing deploy step: %v, want ErrTransient", err)
				}
				a, ok := tn.Action("mailproof")
				if !ok {
					t.Fatal("the failed deploy left no Action")
				}
				return a.ID
			},
			want: auth0client.ActionState{Runtime: "node22", Triggers: []string{"post-login v3"}, Secrets: []string{"MAILPROOF_SECRET"}},
		},
		{
			name: "deployed after another Action",
			prepare: func(t *testing.T, _ *auth0test.Tenant, c *auth0client.Client) string {
				deploy(t, c, "acme-risk-check", "// other")
				deploy(t, c, "mailproof", "// v1")
				return deploy(t, c, "mailproof", "// v2").ActionID
			},
			want: auth0client.ActionState{DeployedVersion: 2, DeployedCode: "// v2", AllChangesDeployed: true, Runtime: "node22", Triggers: []string{"post-login v3"},
				Secrets: []string{"MAILPROOF_SECRET", "MAILPROOF_URL"}, Bindings: []string{"acme-risk-check", "mailproof"}, BoundAt: 2},
		},
		{
			name:    "another trigger's bindings",
			trigger: "post-user-registration",
			prepare: func(t *testing.T, _ *auth0test.Tenant, c *auth0client.Client) string {
				return deploy(t, c, "mailproof", "// v1").ActionID
			},
			want: auth0client.ActionState{DeployedVersion: 1, DeployedCode: "// v1", AllChangesDeployed: true, Runtime: "node22", Triggers: []string{"post-login v3"},
				Secrets: []string{"MAILPROOF_SECRET", "MAILPROOF_URL"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tn := auth0test.NewT(t, auth0test.Config{BuildDelay: time.Nanosecond})
			c := newClient(t, tn, nil)
			tc.want.ID = tc.prepare(t, tn, c)
			before := len(tn.Calls())

			got, err := c.ActionState(context.Background(), "mailproof", tc.trigger)
			if err != nil {
				t.Fatalf("ActionState: %v", err)
			}
			if got.ID != tc.want.ID || got.DeployedVersion != tc.want.DeployedVersion || got.DeployedCode != tc.want.DeployedCode || got.BoundAt != tc.want.BoundAt ||
				got.AllChangesDeployed != tc.want.AllChangesDeployed || got.Runtime != tc.want.Runtime || !slices.Equal(got.Triggers, tc.want.Triggers) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			if gs := slices.Sorted(slices.Values(got.Secrets)); !slices.Equal(gs, tc.want.Secrets) {
				t.Errorf("secrets %v, want %v", got.Secrets, tc.want.Secrets)
			}
			if !slices.Equal(got.Bindings, tc.want.Bindings) {
				t.Errorf("bindings %v, want %v", got.Bindings, tc.want.Bindings)
			}
			if strings.Contains(fmt.Sprintf("%#v", got), secretValue) {
				t.Error("the state carries a secret value")
			}
			for _, call := range tn.Calls()[before:] {
				if call.Method != http.MethodGet && strings.HasPrefix(call.Path, "/api/v2/") {
					t.Errorf("ActionState sent %s %s, want GETs only", call.Method, call.Path)
				}
			}
		})
	}
}

func TestActionStateErrors(t *testing.T) {
	tests := []struct {
		name   string
		action string
		fault  auth0test.Fault
		want   error
	}{
		{name: "no name", action: "", want: auth0client.ErrPermanent},
		{name: "list answers 500", action: "mailproof",
			fault: auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/actions/actions", Status: 500}, want: auth0client.ErrTransient},
		{name: "bindings refuse the scopes", action: "mailproof",
			fault: auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/actions/triggers/", Status: 403}, want: auth0client.ErrUnauthorized},
		{name: "rate limited", action: "mailproof",
			fault: auth0test.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/actions/", Status: 429}, want: auth0client.ErrRateLimited},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tn := auth0test.NewT(t, auth0test.Config{})
			c := newClient(t, tn, nil)
			tn.Inject(tc.fault)
			_, err := c.ActionState(context.Background(), tc.action, "")
			if !errors.Is(err, tc.want) {
				t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
			}
			if errors.Is(err, auth0client.ErrUserNotFound) {
				t.Errorf("%s: %v matches ErrUserNotFound", tc.name, err)
			}
		})
	}
}
